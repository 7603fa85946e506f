#include "quant/dequantize.h"

#include <gtest/gtest.h>

#include <bit>
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "fixture_io.h"
#include "quant/block_layouts.h"
#include "quant/fp16.h"
#include "quant/ggml_type.h"

namespace tandem {
namespace {

using test::read_bytes;
using test::read_floats;

const GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                              GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                              GgmlType::Q8_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                              GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

std::string test_name(const testing::TestParamInfo<GgmlType>& param_info) {
  return std::string(ggml_type_name(param_info.param));
}

std::string lower_name(GgmlType type) {
  std::string name(ggml_type_name(type));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

class DequantizeFixture : public testing::TestWithParam<GgmlType> {};

// The gguf Python package (numpy) decoded random valid blocks; we must agree bit for bit.
TEST_P(DequantizeFixture, MatchesGgufPackageBitExact) {
  const GgmlType type = GetParam();
  const std::string name = lower_name(type);
  const std::vector<uint8_t> blocks = read_bytes("dequant_" + name + ".bin");
  const std::vector<float> expected = read_floats("dequant_" + name + ".f32");
  ASSERT_FALSE(expected.empty());
  const auto n = static_cast<int64_t>(expected.size());
  ASSERT_EQ(blocks.size(), ggml_row_size(type, n));

  // Copy into float-aligned storage: Q8_K blocks hold a float.
  std::vector<float> aligned((blocks.size() + 3) / 4);
  std::memcpy(aligned.data(), blocks.data(), blocks.size());
  std::vector<float> got(expected.size());
  dequantize_row(type, aligned.data(), got.data(), n);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(expected[i]))
        << ggml_type_name(type) << " value " << i << ": " << got[i] << " vs " << expected[i];
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DequantizeFixture, testing::ValuesIn(kAllTypes),
                         test_name);

TEST(Dequantize, HandWrittenQ4_0Block) {
  BlockQ4_0 block{};
  block.d = fp32_to_fp16(0.5f);
  block.qs[0] = 0x9F;  // value 0 -> 15, value 16 -> 9
  block.qs[15] = 0x08;  // value 15 -> 8, value 31 -> 0
  float out[kQK];
  dequantize_row(GgmlType::Q4_0, &block, out, kQK);
  EXPECT_EQ(out[0], 0.5f * 7);
  EXPECT_EQ(out[16], 0.5f * 1);
  EXPECT_EQ(out[15], 0.0f);
  EXPECT_EQ(out[31], 0.5f * -8);
  EXPECT_EQ(out[1], 0.5f * -8);  // zero nibbles
}

TEST(Dequantize, HandWrittenQ5_1Block) {
  BlockQ5_1 block{};
  block.d = fp32_to_fp16(2.0f);
  block.m = fp32_to_fp16(-1.0f);
  block.qs[3] = 0x21;       // value 3 -> low 1, value 19 -> low 2
  block.qh[0] = 1u << 3;    // bit 3: value 3 gets +16
  block.qh[2] = 1u << 3;    // bit 19: value 19 gets +16
  float out[kQK];
  dequantize_row(GgmlType::Q5_1, &block, out, kQK);
  EXPECT_EQ(out[3], 17 * 2.0f - 1.0f);
  EXPECT_EQ(out[19], 18 * 2.0f - 1.0f);
  EXPECT_EQ(out[0], -1.0f);
}

TEST(Dequantize, HandWrittenQ6_KBlock) {
  BlockQ6_K block{};
  block.d = fp32_to_fp16(0.25f);
  for (int i = 0; i < 16; ++i) block.scales[i] = static_cast<int8_t>(i - 8);
  // Value 64 + 5 (second 32 of the high nibbles, sub-block 4): low nibble in ql[5] >> 4, top bits in
  // qh[5] >> 4.
  block.ql[5] = 0xA0;
  block.qh[5] = 0x30;
  std::vector<float> out(kQK_K);
  dequantize_row(GgmlType::Q6_K, &block, out.data(), kQK_K);
  const int q = (0xA | (3 << 4)) - 32;
  EXPECT_EQ(out[69], 0.25f * static_cast<float>(block.scales[4]) * static_cast<float>(q));
}

TEST(Dequantize, EmptyRowIsFine) {
  float out[1] = {42.0f};
  dequantize_row(GgmlType::Q4_K, nullptr, out, 0);
  EXPECT_EQ(out[0], 42.0f);
}

TEST(DequantizeDeathTest, UnsupportedTypeAndBadLengthAreChecked) {
  std::vector<uint8_t> in(1024);
  std::vector<float> out(1024);
  EXPECT_FALSE(dequantize_row_supported(GgmlType::IQ2_XXS));
  EXPECT_DEATH(dequantize_row(GgmlType::IQ2_XXS, in.data(), out.data(), 256), "unsupported");
  EXPECT_DEATH(dequantize_row(static_cast<GgmlType>(1234), in.data(), out.data(), 256), "unsupported");
  EXPECT_DEATH(dequantize_row(GgmlType::Q4_0, in.data(), out.data(), 33), "check");
  EXPECT_DEATH(dequantize_row(GgmlType::Q4_K, in.data(), out.data(), 128), "check");
}

}  // namespace
}  // namespace tandem
