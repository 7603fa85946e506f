#include "kernels/cpu/packed_weights.h"

#include <cstring>

#include "core/check.h"
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
      out[layout.scales + kPackRowsK * j + r] = scale;
      out[layout.mins + 16 * (j / 2) + 2 * r + j % 2] = min;
    }
    for (int g = 0; g < 4; ++g) {
      for (int c = 0; c < 4; ++c) {
        std::memcpy(out + layout.qs + 256 * g + 64 * c + 8 * r, x.qs + 32 * g + 8 * c, 8);
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
  std::memset(out + layout.high, 0, layout.bytes - layout.high);
  for (int r = 0; r < kPackRowsK; ++r) {
    const auto& x = reinterpret_cast<const BlockQ6_K*>(rows[r])[b];
    std::memcpy(out + layout.d + 2 * r, &x.d, 2);
    for (int s = 0; s < kQK_K / 16; ++s) {
      out[layout.scales + kPackRowsK * s + r] = static_cast<uint8_t>(x.scales[s]);
    }
    uint8_t v[kQK_K];
    q6_k_values(x, v);
    for (int j = 0; j < 8; ++j) {
      for (int c = 0; c < 16; ++c) {
        out[layout.low + 64 * c + 8 * r + j] = static_cast<uint8_t>((v[8 * c + j] & 0xF) | ((v[8 * (c + 16) + j] & 0xF) << 4));
      }
      for (int e = 0; e < 8; ++e) {
        for (int i = 0; i < 4; ++i) out[layout.high + 64 * e + 8 * r + j] |= static_cast<uint8_t>((v[8 * (e + 8 * i) + j] >> 4) << (2 * i));
      }
    }
  }
}

}  // namespace

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

PackedDotFn packed_dot_kernel(GgmlType type, IsaLevel level) {
  const bool k_quant = type == GgmlType::Q4_K || type == GgmlType::Q6_K;
  if (level < IsaLevel::kAvx512Vnni || (!layout_of(type) && !k_quant)) return nullptr;
  return packed_dot_kernel_avx512(type);
}

}  // namespace tandem::cpu
