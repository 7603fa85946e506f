#include "kernels/cpu/vec_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "quant/dequantize.h"
#include "quant/fp16.h"
#include "quant/ggml_type.h"
#include "quant/quantize.h"

namespace tandem {
namespace {

const GgmlType kWeightTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0,
                                 GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                 GgmlType::Q8_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                                 GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

std::string type_name(const testing::TestParamInfo<GgmlType>& param_info) {
  return std::string(ggml_type_name(param_info.param));
}

// A quantized row in float-aligned storage (Q8_K blocks hold a float).
struct Row {
  std::vector<float> storage;
  const void* data() const { return storage.data(); }
};

Row quantize(GgmlType type, const std::vector<float>& x) {
  Row row;
  row.storage.resize((ggml_row_size(type, static_cast<int64_t>(x.size())) + 3) / 4);
  quantize_row(type, x.data(), row.storage.data(), static_cast<int64_t>(x.size()));
  return row;
}

std::vector<float> dequantize(GgmlType type, const Row& row, size_t n) {
  std::vector<float> out(n);
  dequantize_row(type, row.data(), out.data(), static_cast<int64_t>(n));
  return out;
}

std::vector<float> random_row(size_t n, uint32_t seed, float mean) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

TEST(VecDotType, MatchesGgmlPairing) {
  EXPECT_EQ(vec_dot_type(GgmlType::F32), GgmlType::F32);
  EXPECT_EQ(vec_dot_type(GgmlType::F16), GgmlType::F16);
  EXPECT_EQ(vec_dot_type(GgmlType::BF16), GgmlType::BF16);
  EXPECT_EQ(vec_dot_type(GgmlType::Q4_0), GgmlType::Q8_0);
  EXPECT_EQ(vec_dot_type(GgmlType::Q5_0), GgmlType::Q8_0);
  EXPECT_EQ(vec_dot_type(GgmlType::Q8_0), GgmlType::Q8_0);
  EXPECT_EQ(vec_dot_type(GgmlType::Q4_1), GgmlType::Q8_1);
  EXPECT_EQ(vec_dot_type(GgmlType::Q5_1), GgmlType::Q8_1);
  for (GgmlType t : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    EXPECT_EQ(vec_dot_type(t), GgmlType::Q8_K) << ggml_type_name(t);
  }
}

// sum over blocks of |m_weight * s_activation| for the Q4_1 / Q5_1 x Q8_1 pairings.
double min_term_magnitude(GgmlType type, const Row& w, const Row& a, size_t n) {
  const auto* act = static_cast<const BlockQ8_1*>(a.data());
  double total = 0;
  for (size_t b = 0; b < n / kQK; ++b) {
    const uint16_t m = type == GgmlType::Q4_1 ? static_cast<const BlockQ4_1*>(w.data())[b].m
                                              : static_cast<const BlockQ5_1*>(w.data())[b].m;
    total += std::fabs(static_cast<double>(fp16_to_fp32(m)) * fp16_to_fp32(act[b].s));
  }
  return total;
}

class VecDot : public testing::TestWithParam<GgmlType> {};

// The integer-domain dot product must equal the float dot product of the two dequantized rows, up to
// float rounding of the per-block accumulation.
TEST_P(VecDot, EqualsDotOfDequantizedRows) {
  const GgmlType type = GetParam();
  const GgmlType act_type = vec_dot_type(type);
  for (uint32_t seed : {1u, 2u, 3u}) {
    const size_t n = 1024;
    const Row w = quantize(type, random_row(n, seed, seed == 3 ? 0.8f : 0.0f));
    const Row a = quantize(act_type, random_row(n, seed + 100, seed == 2 ? -0.5f : 0.0f));
    const std::vector<float> wf = dequantize(type, w, n);
    const std::vector<float> af = dequantize(act_type, a, n);
    double expected = 0;
    double magnitude = 0;
    for (size_t i = 0; i < n; ++i) {
      expected += static_cast<double>(wf[i]) * af[i];
      magnitude += std::fabs(static_cast<double>(wf[i]) * af[i]);
    }
    const float got = vec_dot(type, w.data(), a.data(), static_cast<int64_t>(n));
    double tolerance = magnitude * 2e-6;
    if (type == GgmlType::Q4_1 || type == GgmlType::Q5_1) {
      // Q4_1 / Q5_1 fold the weight's min in through the activation's fp16 s = d * sum(q), whose
      // rounding (up to 2^-11 relative) is part of ggml's result.
      tolerance += min_term_magnitude(type, w, a, n) * std::ldexp(1.0, -11);
    }
    EXPECT_NEAR(got, expected, tolerance) << ggml_type_name(type) << " seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, VecDot, testing::ValuesIn(kWeightTypes), type_name);

std::vector<float> read_floats(const std::string& name) {
  std::ifstream in(std::string(TANDEM_TEST_DATA) + "/quant/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<float> out(bytes.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

// vec_dot_expected.txt holds ggml's own (generic kernel) results for the shared fixture rows; the
// scalar kernels must reproduce them to the last bit.
TEST(VecDotGolden, BitExactWithGgmlGenericKernels) {
  const std::vector<float> weights = read_floats("quantize_input.f32");
  const std::vector<float> activation = read_floats("vec_dot_activation.f32");
  ASSERT_EQ(weights.size(), activation.size());
  std::ifstream in(std::string(TANDEM_TEST_DATA) + "/quant/vec_dot_expected.txt");
  ASSERT_TRUE(in.good());
  int checked = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    std::string bits_hex;
    fields >> name >> bits_hex;
    const auto type = ggml_type_from_name(name);
    ASSERT_TRUE(type.has_value()) << name;
    const uint32_t expected_bits = static_cast<uint32_t>(std::stoul(bits_hex, nullptr, 16));
    const Row w = quantize(*type, weights);
    const Row a = quantize(vec_dot_type(*type), activation);
    const float got = vec_dot(*type, w.data(), a.data(), static_cast<int64_t>(weights.size()));
    uint32_t got_bits;
    std::memcpy(&got_bits, &got, sizeof(got));
    float expected;
    std::memcpy(&expected, &expected_bits, sizeof(expected));
    EXPECT_EQ(got_bits, expected_bits) << name << ": " << got << " vs ggml " << expected;
    ++checked;
  }
  EXPECT_EQ(checked, 13);
}

TEST(VecDot, ScalarReferencesAgreeWithDispatch) {
  const std::vector<float> x = random_row(512, 9, 0.0f);
  const std::vector<float> y = random_row(512, 10, 0.0f);
  EXPECT_EQ(vec_dot(GgmlType::F32, x.data(), y.data(), 512), vec_dot_f32_scalar(x.data(), y.data(), 512));
  double expected = 0;
  for (size_t i = 0; i < x.size(); ++i) expected += static_cast<double>(x[i] * y[i]);
  EXPECT_EQ(vec_dot_f32_scalar(x.data(), y.data(), 512), static_cast<float>(expected));
}

TEST(VecDotDeathTest, UnsupportedTypesAreChecked) {
  std::vector<float> buf(1024);
  EXPECT_DEATH(vec_dot_type(GgmlType::IQ2_XXS), "no dot product");
  EXPECT_DEATH(vec_dot_type(static_cast<GgmlType>(77)), "no dot product");
  EXPECT_DEATH(vec_dot(GgmlType::TQ1_0, buf.data(), buf.data(), 256), "no dot product");
  EXPECT_DEATH(vec_dot(GgmlType::Q4_0, buf.data(), buf.data(), 40), "check");
}

}  // namespace
}  // namespace tandem
