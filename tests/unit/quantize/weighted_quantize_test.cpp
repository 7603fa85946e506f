#include "quantize/weighted_quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace tandem::quantize {
namespace {

struct Errors {
  double weighted = 0.0;  // sum of importance * squared error
  double plain = 0.0;     // relative RMS error
};

Errors errors(GgmlType type, const std::vector<float>& x, const std::vector<float>& imp, bool use_importance) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(ggml_row_size(type, n));
  quantize_row_weighted(type, x.data(), q.data(), n, use_importance ? imp.data() : nullptr);
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), n);
  Errors e;
  double norm = 0.0;
  for (size_t j = 0; j < x.size(); ++j) {
    const double d = x[j] - y[j];
    e.weighted += imp[j] * d * d;
    e.plain += d * d;
    norm += static_cast<double>(x[j]) * x[j];
  }
  e.plain = std::sqrt(e.plain / norm);
  return e;
}

class WeightedTypes : public ::testing::TestWithParam<GgmlType> {};

TEST_P(WeightedTypes, ImportanceLowersTheWeightedErrorInTheSameFormat) {
  const GgmlType type = GetParam();
  ASSERT_TRUE(uses_importance(type));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::lognormal_distribution<float> lognormal(0.0f, 1.5f);
  std::vector<float> x(4096);
  std::vector<float> imp(x.size());
  for (size_t j = 0; j < x.size(); ++j) {
    x[j] = normal(rng) * (j % 97 == 0 ? 6.0f : 1.0f) + (j % 3 == 0 ? 0.3f : 0.0f);  // outliers, an offset
    imp[j] = lognormal(rng);
  }
  const Errors reference = errors(type, x, imp, false);
  const Errors weighted = errors(type, x, imp, true);
  EXPECT_LT(weighted.weighted, 0.97 * reference.weighted) << ggml_type_name(type);
  // Still a faithful copy where importance is low: no more than a little worse overall.
  EXPECT_LT(weighted.plain, 1.5 * reference.plain) << ggml_type_name(type);
}

INSTANTIATE_TEST_SUITE_P(Types, WeightedTypes,
                         ::testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K),
                         [](const auto& p) { return std::string(ggml_type_name(p.param)); });

TEST(WeightedQuantize, WithoutImportanceIsTheReferenceBitForBit) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(512);
  for (float& v : x) v = normal(rng);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F16}) {
    std::vector<uint8_t> a(ggml_row_size(type, 512));
    std::vector<uint8_t> b(a.size());
    quantize_row(type, x.data(), a.data(), 512);
    quantize_row_weighted(type, x.data(), b.data(), 512, nullptr);
    EXPECT_EQ(a, b) << ggml_type_name(type);
  }
  // Q8_0 ignores importance: its error is already tiny.
  std::vector<float> imp(512, 2.0f);
  std::vector<uint8_t> a(ggml_row_size(GgmlType::Q8_0, 512));
  std::vector<uint8_t> b(a.size());
  quantize_row(GgmlType::Q8_0, x.data(), a.data(), 512);
  quantize_row_weighted(GgmlType::Q8_0, x.data(), b.data(), 512, imp.data());
  EXPECT_EQ(a, b);
}

TEST(WeightedQuantize, AllZeroBlocksStayZero) {
  std::vector<float> x(256, 0.0f);
  std::vector<float> imp(256, 1.0f);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_K, GgmlType::Q6_K}) {
    std::vector<uint8_t> q(ggml_row_size(type, 256));
    quantize_row_weighted(type, x.data(), q.data(), 256, imp.data());
    std::vector<float> y(256, 1.0f);
    dequantize_row(type, q.data(), y.data(), 256);
    for (float v : y) ASSERT_EQ(v, 0.0f) << ggml_type_name(type);
  }
}

}  // namespace
}  // namespace tandem::quantize
