#include "quant/quantize.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fixture_io.h"
#include "quant/block_layouts.h"
#include "quant/dequantize.h"
#include "quant/fp16.h"
#include "quant/ggml_type.h"

namespace tandem {
namespace {

using test::read_bytes;
using test::read_floats;

std::string test_name(const testing::TestParamInfo<GgmlType>& param_info) {
  return std::string(ggml_type_name(param_info.param));
}

std::string lower_name(GgmlType type) {
  std::string name(ggml_type_name(type));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Output buffer with float alignment (Q8_K blocks hold a float).
std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x) {
  const size_t size = ggml_row_size(type, static_cast<int64_t>(x.size()));
  std::vector<float> storage((size + 3) / 4);
  quantize_row(type, x.data(), storage.data(), static_cast<int64_t>(x.size()));
  std::vector<uint8_t> out(size);
  std::memcpy(out.data(), storage.data(), size);
  return out;
}

std::vector<float> dequantize(GgmlType type, const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<float> storage((bytes.size() + 3) / 4);
  std::memcpy(storage.data(), bytes.data(), bytes.size());
  std::vector<float> out(n);
  dequantize_row(type, storage.data(), out.data(), static_cast<int64_t>(n));
  return out;
}

class QuantizeFixture : public testing::TestWithParam<GgmlType> {};

// quantize_<type>.bin comes from the gguf package (F32 .. Q8_0) or from ggml's own reference
// quantizers (Q8_1, K-quants); every byte must match.
TEST_P(QuantizeFixture, BitIdenticalToReference) {
  const GgmlType type = GetParam();
  const std::vector<float> input = read_floats("quantize_input.f32");
  ASSERT_EQ(input.size(), 1024u);
  const std::vector<uint8_t> expected = read_bytes("quantize_" + lower_name(type) + ".bin");
  const std::vector<uint8_t> got = quantize(type, input);
  ASSERT_EQ(got.size(), expected.size());
  const size_t block_bytes = ggml_type_traits(type).type_size;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], expected[i]) << ggml_type_name(type) << " byte " << i << " (block "
                                   << i / block_bytes << ", offset " << i % block_bytes << ")";
  }
}

const GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                              GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                              GgmlType::Q8_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                              GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantizeFixture, testing::ValuesIn(kAllTypes),
                         test_name);

// Relative RMS error of quantize -> dequantize on gaussian data (4096 values, 16 rows of 256).
double relative_rms_error(GgmlType type) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(4096);
  for (float& v : x) v = normal(rng);
  const std::vector<float> y = dequantize(type, quantize(type, x), x.size());
  double err = 0;
  double ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

TEST(QuantizeRoundTrip, ErrorBoundsPerType) {
  // Bounds sit 10-20% above what the reference quantizers reach on this data (ggml's own numbers).
  const std::map<GgmlType, double> bounds = {
      {GgmlType::F32, 0.0},     {GgmlType::F16, 3e-4},     {GgmlType::BF16, 2.5e-3},
      {GgmlType::Q8_0, 6.5e-3}, {GgmlType::Q8_1, 6.5e-3},  {GgmlType::Q8_K, 8.5e-3},
      {GgmlType::Q6_K, 0.021},  {GgmlType::Q5_0, 0.05},    {GgmlType::Q5_1, 0.045},
      {GgmlType::Q5_K, 0.042},  {GgmlType::Q4_0, 0.1},     {GgmlType::Q4_1, 0.092},
      {GgmlType::Q4_K, 0.085},  {GgmlType::Q3_K, 0.175},   {GgmlType::Q2_K, 0.34},
  };
  std::map<GgmlType, double> errors;
  for (const auto& [type, bound] : bounds) {
    errors[type] = relative_rms_error(type);
    EXPECT_LE(errors[type], bound) << ggml_type_name(type);
  }
  // More bits, less error.
  EXPECT_LT(errors[GgmlType::Q8_0], errors[GgmlType::Q6_K]);
  EXPECT_LT(errors[GgmlType::Q8_K], errors[GgmlType::Q6_K]);
  EXPECT_LT(errors[GgmlType::Q6_K], errors[GgmlType::Q5_K]);
  EXPECT_LT(errors[GgmlType::Q6_K], errors[GgmlType::Q5_0]);
  EXPECT_LT(errors[GgmlType::Q6_K], errors[GgmlType::Q5_1]);
  EXPECT_LT(errors[GgmlType::Q5_K], errors[GgmlType::Q4_K]);
  EXPECT_LT(errors[GgmlType::Q5_1], errors[GgmlType::Q4_K]);
  EXPECT_LT(errors[GgmlType::Q5_K], errors[GgmlType::Q4_K]);
  EXPECT_LT(errors[GgmlType::Q5_0], errors[GgmlType::Q4_0]);
  EXPECT_LT(errors[GgmlType::Q5_1], errors[GgmlType::Q4_1]);
  EXPECT_LT(errors[GgmlType::Q4_K], errors[GgmlType::Q3_K]);
  EXPECT_LT(errors[GgmlType::Q3_K], errors[GgmlType::Q2_K]);
}

TEST(Quantize, ZerosStayZeros) {
  const std::vector<float> zeros(512, 0.0f);
  for (GgmlType type : kAllTypes) {
    const std::vector<float> back = dequantize(type, quantize(type, zeros), zeros.size());
    for (float v : back) ASSERT_EQ(v, 0.0f) << ggml_type_name(type);
  }
}

TEST(Quantize, Q8_1StoresScaledSum) {
  std::vector<float> x(kQK);
  for (int i = 0; i < kQK; ++i) x[i] = static_cast<float>(i) * 0.37f - 3.0f;
  BlockQ8_1 block;
  quantize_row(GgmlType::Q8_1, x.data(), &block, kQK);
  int sum = 0;
  for (int8_t q : block.qs) sum += q;
  const float d = fp16_to_fp32(block.d);
  EXPECT_EQ(block.s, fp32_to_fp16(static_cast<float>(sum) * (x[31] / 127)));
  EXPECT_EQ(block.d, fp32_to_fp16(x[31] / 127));
  EXPECT_NEAR(fp16_to_fp32(block.s), d * static_cast<float>(sum), std::fabs(d * sum) * 1e-3);
}

TEST(Quantize, Q8_KBlockSumsAndRange) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-5.0f, 5.0f);
  std::vector<float> x(2 * kQK_K);
  for (float& v : x) v = uniform(rng);
  x[17] = -9.0f;  // the extreme value maps to exactly -127, whatever its sign
  BlockQ8_K blocks[2];
  quantize_row(GgmlType::Q8_K, x.data(), blocks, static_cast<int64_t>(x.size()));
  EXPECT_EQ(blocks[0].qs[17], -127);
  EXPECT_FLOAT_EQ(blocks[0].d, 9.0f / 127.0f);
  for (const BlockQ8_K& b : blocks) {
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) {
        sum += b.qs[16 * g + l];
        ASSERT_GE(b.qs[16 * g + l], -127);
      }
      ASSERT_EQ(b.bsums[g], sum);
    }
  }
}

TEST(Quantize, Q4_0UsesTheFullRangeOnTheExtremeSide) {
  std::vector<float> x(kQK, 0.0f);
  x[3] = -4.0f;  // d = -4 / -8 = 0.5: -4 -> level 0 (value -8 * d)
  x[4] = 3.5f;   // -> level 15
  BlockQ4_0 block;
  quantize_row(GgmlType::Q4_0, x.data(), &block, kQK);
  EXPECT_EQ(fp16_to_fp32(block.d), 0.5f);
  EXPECT_EQ(block.qs[3] & 0xF, 0);
  EXPECT_EQ(block.qs[4] & 0xF, 15);
  EXPECT_EQ(block.qs[0] & 0xF, 8);
}

TEST(Quantize, SupportedSet) {
  for (GgmlType type : kAllTypes) EXPECT_TRUE(quantize_row_supported(type)) << ggml_type_name(type);
  EXPECT_FALSE(quantize_row_supported(GgmlType::IQ4_NL));
  EXPECT_FALSE(quantize_row_supported(GgmlType::I32));
  EXPECT_FALSE(quantize_row_supported(static_cast<GgmlType>(999)));
}

TEST(QuantizeDeathTest, UnsupportedTypeAndBadLengthAreChecked) {
  std::vector<float> in(512, 1.0f);
  std::vector<uint8_t> out(4096);
  EXPECT_DEATH(quantize_row(GgmlType::IQ4_XS, in.data(), out.data(), 256), "unsupported");
  EXPECT_DEATH(quantize_row(static_cast<GgmlType>(999), in.data(), out.data(), 256), "unsupported");
  EXPECT_DEATH(quantize_row(GgmlType::Q8_0, in.data(), out.data(), 48), "check");
  EXPECT_DEATH(quantize_row(GgmlType::Q6_K, in.data(), out.data(), 288), "check");
  EXPECT_DEATH(quantize_row(GgmlType::Q6_K, in.data(), out.data(), -256), "check");
}

}  // namespace
}  // namespace tandem
