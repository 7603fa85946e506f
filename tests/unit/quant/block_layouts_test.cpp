#include "quant/block_layouts.h"

#include <gtest/gtest.h>

#include <cstddef>

#include "quant/ggml_type.h"

namespace tandem {
namespace {

template <typename Block>
void expect_geometry(GgmlType type, int values) {
  EXPECT_EQ(sizeof(Block), ggml_type_traits(type).type_size) << ggml_type_name(type);
  EXPECT_EQ(static_cast<uint32_t>(values), ggml_type_traits(type).block_size) << ggml_type_name(type);
}

TEST(BlockLayouts, SizesMatchTypeTraits) {
  expect_geometry<BlockQ4_0>(GgmlType::Q4_0, kQK);
  expect_geometry<BlockQ4_1>(GgmlType::Q4_1, kQK);
  expect_geometry<BlockQ5_0>(GgmlType::Q5_0, kQK);
  expect_geometry<BlockQ5_1>(GgmlType::Q5_1, kQK);
  expect_geometry<BlockQ8_0>(GgmlType::Q8_0, kQK);
  expect_geometry<BlockQ8_1>(GgmlType::Q8_1, kQK);
  expect_geometry<BlockQ2_K>(GgmlType::Q2_K, kQK_K);
  expect_geometry<BlockQ3_K>(GgmlType::Q3_K, kQK_K);
  expect_geometry<BlockQ4_K>(GgmlType::Q4_K, kQK_K);
  expect_geometry<BlockQ5_K>(GgmlType::Q5_K, kQK_K);
  expect_geometry<BlockQ6_K>(GgmlType::Q6_K, kQK_K);
  expect_geometry<BlockQ8_K>(GgmlType::Q8_K, kQK_K);
}

TEST(BlockLayouts, FieldOffsetsFollowGgml) {
  EXPECT_EQ(offsetof(BlockQ5_0, qh), 2u);
  EXPECT_EQ(offsetof(BlockQ5_1, qh), 4u);
  EXPECT_EQ(offsetof(BlockQ8_1, qs), 4u);
  EXPECT_EQ(offsetof(BlockQ2_K, d), 80u);
  EXPECT_EQ(offsetof(BlockQ3_K, scales), 96u);
  EXPECT_EQ(offsetof(BlockQ3_K, d), 108u);
  EXPECT_EQ(offsetof(BlockQ4_K, qs), 16u);
  EXPECT_EQ(offsetof(BlockQ5_K, qh), 16u);
  EXPECT_EQ(offsetof(BlockQ5_K, qs), 48u);
  EXPECT_EQ(offsetof(BlockQ6_K, scales), 192u);
  EXPECT_EQ(offsetof(BlockQ6_K, d), 208u);
  EXPECT_EQ(offsetof(BlockQ8_K, bsums), 260u);
}

TEST(BlockLayouts, ScaleUnpacking) {
  // Q4_K: scale/min j < 4 in the low 6 bits of bytes j / j + 4; j >= 4 split across nibbles and top bits.
  uint8_t packed[kKScaleSize] = {};
  packed[1] = 0x3F | (0x2 << 6);  // scale 1 = 63, top bits of scale 5 = 2
  packed[5] = 0x05 | (0x1 << 6);  // min 1 = 5, top bits of min 5 = 1
  packed[9] = 0x7 | (0xC << 4);   // scale 5 low nibble 7, min 5 low nibble 12
  uint8_t scale;
  uint8_t min;
  unpack_scale_min_k4(1, packed, &scale, &min);
  EXPECT_EQ(scale, 63);
  EXPECT_EQ(min, 5);
  unpack_scale_min_k4(5, packed, &scale, &min);
  EXPECT_EQ(scale, 0x7 | (0x2 << 4));
  EXPECT_EQ(min, 0xC | (0x1 << 4));

  // Q3_K: scale 13 = low nibble from the high half of byte 5, top bits at bits 6..7 of byte 9.
  uint8_t q3[12] = {};
  q3[5] = 0xA0;
  q3[9] = 0x3 << 6;
  EXPECT_EQ(unpack_scale_q3_k(13, q3), (0xA | (3 << 4)) - 32);
  EXPECT_EQ(unpack_scale_q3_k(0, q3), -32);
}

}  // namespace
}  // namespace tandem
