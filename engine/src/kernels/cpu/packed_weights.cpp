#include "kernels/cpu/packed_weights.h"

#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "core/check.h"
#include "kernels/cpu/dot_kernels.h"
#include "quant/block_layouts.h"

namespace tandem::cpu {
namespace {

const PackedLayout* layout_of(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: return &kPackedQ4_0;
    case GgmlType::Q4_1: return &kPackedQ4_1;
    case GgmlType::Q5_0: return &kPackedQ5_0;
    case GgmlType::Q5_1: return &kPackedQ5_1;
    case GgmlType::Q8_0: return &kPackedQ8_0;
    default: return nullptr;
  }
}

// Where the parts of one file block start, by type.
struct SourceBlock {
  uint16_t d = 0;
  uint16_t m = 0;
  const uint8_t* qh = nullptr;
  const uint8_t* qs = nullptr;
};

SourceBlock source_block(GgmlType type, const uint8_t* row, int64_t b) {
  SourceBlock s;
  switch (type) {
    case GgmlType::Q4_0: {
      const auto& x = reinterpret_cast<const BlockQ4_0*>(row)[b];
      return {x.d, 0, nullptr, x.qs};
    }
    case GgmlType::Q4_1: {
      const auto& x = reinterpret_cast<const BlockQ4_1*>(row)[b];
      return {x.d, x.m, nullptr, x.qs};
    }
    case GgmlType::Q5_0: {
      const auto& x = reinterpret_cast<const BlockQ5_0*>(row)[b];
      return {x.d, 0, x.qh, x.qs};
    }
    case GgmlType::Q5_1: {
      const auto& x = reinterpret_cast<const BlockQ5_1*>(row)[b];
      return {x.d, x.m, x.qh, x.qs};
    }
    case GgmlType::Q8_0: {
      const auto& x = reinterpret_cast<const BlockQ8_0*>(row)[b];
      return {x.d, 0, nullptr, reinterpret_cast<const uint8_t*>(x.qs)};
    }
    default: break;
  }
  return s;
}

void pack_block(GgmlType type, const PackedLayout& layout, const uint8_t* const* rows, int64_t b, uint8_t* out) {
  constexpr int kRows = kPackRowsLegacy;
  if (layout.qh) std::memset(out + layout.qh, 0, 64);
  for (int r = 0; r < kRows; ++r) {
    const SourceBlock s = source_block(type, rows[r], b);
    std::memcpy(out + layout.d + 2 * r, &s.d, 2);
    if (layout.m) std::memcpy(out + layout.m + 2 * r, &s.m, 2);
    if (layout.qh) {
      uint32_t qh = 0;
      std::memcpy(&qh, s.qh, 4);
      // Mask k, bit 4r + j: the fifth bit of value 4k + j.
      for (int k = 0; k < 8; ++k) {
        for (int j = 0; j < 4; ++j) {
          const int bit = 4 * r + j;
          out[layout.qh + 8 * k + bit / 8] |= static_cast<uint8_t>(((qh >> (4 * k + j)) & 1) << (bit % 8));
        }
      }
    }
    if (type == GgmlType::Q8_0) {
      for (int k = 0; k < 8; ++k) {
        for (int j = 0; j < 4; ++j) out[layout.qs + 64 * k + 4 * r + j] = static_cast<uint8_t>(s.qs[4 * k + j] ^ 0x80);
      }
    } else {
      for (int c = 0; c < 4; ++c) std::memcpy(out + layout.qs + 64 * c + 4 * r, s.qs + 4 * c, 4);
    }
  }
}

void pack_q4_k_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  const PackedLayoutK& layout = kPackedQ4_K;
  for (int r = 0; r < kPackRowsK; ++r) {
    const auto& x = reinterpret_cast<const BlockQ4_K*>(rows[r])[b];
    std::memcpy(out + layout.d + 2 * r, &x.d, 2);
    std::memcpy(out + layout.dmin + 2 * r, &x.dmin, 2);
    for (int j = 0; j < kQK_K / kQK; ++j) {
      uint8_t scale = 0;
      uint8_t min = 0;
      unpack_scale_min_k4(j, x.scales, &scale, &min);
      out[layout.scales + 16 * (j / 2) + 2 * r + j % 2] = scale;
      out[layout.mins + 16 * (j / 2) + 2 * r + j % 2] = min;
    }
    // The file's qs[32g + m] holds value 64g + m (low nibble) and 64g + 32 + m (high nibble).
    for (int g = 0; g < 4; ++g) {
      for (int h = 0; h < 2; ++h) {
        for (int c = 0; c < 4; ++c) {
          for (int j = 0; j < 4; ++j) {
            const auto nibble = [&](int m) { return (x.qs[32 * g + m] >> (4 * h)) & 0xF; };
            out[layout.qs + 256 * g + 64 * c + 4 * (2 * r + h) + j] =
                static_cast<uint8_t>(nibble(4 * c + j) | (nibble(16 + 4 * c + j) << 4));
          }
        }
      }
    }
  }
}

// The 256 six-bit values (0..63) of a Q6_K block, in order.
void q6_k_values(const BlockQ6_K& x, uint8_t* v) {
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = x.ql + 64 * half;
    const uint8_t* qh = x.qh + 32 * half;
    uint8_t* out = v + 128 * half;
    for (int l = 0; l < 32; ++l) {
      out[l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
      out[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      out[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      out[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
  }
}

void pack_q6_k_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  const PackedLayoutQ6K& layout = kPackedQ6_K;
  for (int r = 0; r < kPackRowsK; ++r) {
    const auto& x = reinterpret_cast<const BlockQ6_K*>(rows[r])[b];
    std::memcpy(out + layout.d + 2 * r, &x.d, 2);
    // Sub-block s = 4g + i + 2h is in lane 2r + h of register pair p = 2g + i.
    for (int s = 0; s < kQK_K / 16; ++s) {
      out[layout.scales + 16 * (2 * (s / 4) + s % 2) + 2 * r + (s % 4) / 2] = static_cast<uint8_t>(x.scales[s]);
    }
    uint8_t v[kQK_K];
    q6_k_values(x, v);
    for (int p = 0; p < 8; ++p) {
      for (int h = 0; h < 2; ++h) {
        for (int j = 0; j < 4; ++j) {
          const size_t byte = 4 * (2 * r + h) + j;
          const uint8_t* sub_block = v + 16 * (4 * (p / 2) + p % 2 + 2 * h);
          const uint8_t fourth = sub_block[12 + j];  // register (p, 3)
          for (int q = 0; q < 3; ++q) {
            out[layout.qs + 192 * p + 64 * q + byte] =
                static_cast<uint8_t>(sub_block[4 * q + j] | (((fourth >> (2 * q)) & 3) << 6));
          }
        }
      }
    }
  }
}

}  // namespace

// pack_rows asks for 2 MiB pages under its output before first touching it. A batch-1 matrix
// product streams its weights once: with 4 KiB pages it misses the TLB every 4 KiB, and in a
// virtual machine each miss is a two-level page walk (measured, the 255 MB Q6_K output head alone on one thread, interleaved runs: 8.7 GB/s with
// 4 KiB pages, 15-19 GB/s with 2 MiB ones).
void advise_huge_pages(uint8_t* begin, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(begin) + bytes) & ~(kHugePage - 1);
  if (end > first) (void)madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE);
#else
  (void)begin;
  (void)bytes;
#endif
}

int packed_group_rows(GgmlType type) {
  return type == GgmlType::Q4_K || type == GgmlType::Q6_K ? kPackRowsK : kPackRowsLegacy;
}

bool has_packed_kernel(GgmlType type, IsaLevel level) { return packed_dot_kernel(type, level) != nullptr; }

size_t packed_group_bytes(GgmlType type, int64_t n_in) {
  if (type == GgmlType::Q4_K) return kPackedQ4_K.bytes * static_cast<size_t>(n_in / kQK_K);
  if (type == GgmlType::Q6_K) return kPackedQ6_K.bytes * static_cast<size_t>(n_in / kQK_K);
  const PackedLayout* layout = layout_of(type);
  TANDEM_CHECK_MSG(layout != nullptr, "packed_group_bytes: type has no packed layout");
  return layout->bytes * static_cast<size_t>(n_in / kQK);
}

void pack_rows(GgmlType type, const uint8_t* rows, size_t row_bytes, int64_t n_in, int64_t n_groups, uint8_t* out) {
  const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
  const PackedLayout* layout = layout_of(type);
  TANDEM_CHECK_MSG(k_quant || layout != nullptr, "pack_rows: type has no packed layout");
  const int64_t block_values = k_quant ? kQK_K : kQK;
  TANDEM_CHECK(n_in % block_values == 0);
  const int64_t n_blocks = n_in / block_values;
  const size_t block_bytes = type == GgmlType::Q4_K ? kPackedQ4_K.bytes
                             : type == GgmlType::Q6_K ? kPackedQ6_K.bytes
                                                      : layout->bytes;
  const int group = packed_group_rows(type);
  advise_huge_pages(out, static_cast<size_t>(n_groups * n_blocks) * block_bytes);
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* group_rows[kPackRowsLegacy];
    for (int r = 0; r < group; ++r) group_rows[r] = rows + static_cast<size_t>(g * group + r) * row_bytes;
    uint8_t* group_out = out + static_cast<size_t>(g * n_blocks) * block_bytes;
    for (int64_t b = 0; b < n_blocks; ++b) {
      uint8_t* block_out = group_out + static_cast<size_t>(b) * block_bytes;
      if (type == GgmlType::Q4_K) {
        pack_q4_k_block(group_rows, b, block_out);
      } else if (type == GgmlType::Q6_K) {
        pack_q6_k_block(group_rows, b, block_out);
      } else {
        pack_block(type, *layout, group_rows, b, block_out);
      }
    }
  }
}

size_t packed_activation_bytes(GgmlType act_type, int64_t n) {
  if (act_type != GgmlType::Q8_K) return 0;
  const auto nb = static_cast<size_t>(n / kQK_K);
  return nb * (kQK_K + kQK_K / 16 * sizeof(int32_t));
}

void add_packed_activation_tables(GgmlType act_type, uint8_t* row, int64_t n) {
  // Only the packed K-quant kernels read them, and they exist only at AVX-512 VNNI.
  if (act_type != GgmlType::Q8_K || active_isa_level() < IsaLevel::kAvx512Vnni) return;
  add_k_activation_tables_avx512(row, n / kQK_K, row + activation_row_bytes(act_type, n));
}

PackedDotFn packed_dot_kernel(GgmlType type, IsaLevel level) {
  const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
  if (level < IsaLevel::kAvx512Vnni || (!layout_of(type) && !k_quant)) return nullptr;
  return packed_dot_kernel_avx512(type);
}

}  // namespace tandem::cpu
