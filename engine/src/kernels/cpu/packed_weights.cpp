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

// The 32 low-nibble values of a Q4/Q5 block's qs: value j < 16 in qs[j]'s low nibble, value
// j + 16 in its high one.
void unpack_nibbles(const uint8_t* qs, uint8_t* values) {
  for (int j = 0; j < kQK / 2; ++j) {
    values[j] = qs[j] & 0x0F;
    values[j + kQK / 2] = qs[j] >> 4;
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
  uint8_t values[kPackRows][kQK];
  for (int r = 0; r < kPackRows; ++r) {
    const SourceBlock s = source_block(type, rows[r], b);
    std::memcpy(out + layout.d + 2 * r, &s.d, 2);
    if (layout.m) std::memcpy(out + layout.m + 2 * r, &s.m, 2);
    if (layout.qh) std::memcpy(out + layout.qh + 4 * r, s.qh, 4);
    if (type == GgmlType::Q8_0) {
      for (int j = 0; j < kQK; ++j) out[layout.qs + kQK * r + j] = static_cast<uint8_t>(s.qs[j] ^ 0x80);
    } else {
      unpack_nibbles(s.qs, values[r]);
    }
  }
  if (type == GgmlType::Q8_0) return;
  for (int p = 0; p < kPackRows / 2; ++p) {
    for (int j = 0; j < kQK; ++j) {
      out[layout.qs + kQK * p + j] = static_cast<uint8_t>(values[2 * p][j] | (values[2 * p + 1][j] << 4));
    }
  }
}

}  // namespace

bool has_packed_kernel(GgmlType type, IsaLevel level) { return packed_dot_kernel(type, level) != nullptr; }

size_t packed_group_bytes(GgmlType type, int64_t n_in) {
  const PackedLayout* layout = layout_of(type);
  TANDEM_CHECK_MSG(layout != nullptr, "packed_group_bytes: type has no packed layout");
  return layout->bytes * static_cast<size_t>(n_in / kQK);
}

void pack_rows(GgmlType type, const uint8_t* rows, size_t row_bytes, int64_t n_in, int64_t n_groups, uint8_t* out) {
  const PackedLayout* layout = layout_of(type);
  TANDEM_CHECK_MSG(layout != nullptr, "pack_rows: type has no packed layout");
  TANDEM_CHECK(n_in % kQK == 0);
  const int64_t n_blocks = n_in / kQK;
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* group_rows[kPackRows];
    for (int r = 0; r < kPackRows; ++r) group_rows[r] = rows + static_cast<size_t>(g * kPackRows + r) * row_bytes;
    uint8_t* group_out = out + static_cast<size_t>(g) * layout->bytes * static_cast<size_t>(n_blocks);
    for (int64_t b = 0; b < n_blocks; ++b) {
      pack_block(type, *layout, group_rows, b, group_out + static_cast<size_t>(b) * layout->bytes);
    }
  }
}

PackedDotFn packed_dot_kernel(GgmlType type, IsaLevel level) {
  if (level < IsaLevel::kAvx512Vnni || !layout_of(type)) return nullptr;
  return packed_dot_kernel_avx512(type);
}

}  // namespace tandem::cpu
