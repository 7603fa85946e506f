// The AVX-512 activation quantizers against the scalar ones: bit-identical bytes, including
// all-zero blocks, ties of the largest magnitude with opposite signs and values that land exactly
// half-way between two quants.

#include "kernels/cpu/quantize_activations.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_features.h"
#include "quant/ggml_type.h"

namespace tandem::cpu {
namespace {

std::vector<float> awkward_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  for (int64_t i = 0; i < 32 && i < n; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block
  if (n >= 512) {
    // Largest magnitude twice, negative first: the sign of the first one sets Q8_K's scale.
    x[400] = -9.0f;
    x[401] = 9.0f;
    // Half-way values: 127 * k / 254 lands on .5 after scaling by 127 / amax with amax 1.
    for (int64_t i = 256 + 32; i < 256 + 64; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i % 7) * 0.5f / 127.0f;
    x[256 + 40] = 1.0f;
  }
  return x;
}

class QuantizeActivations : public testing::TestWithParam<GgmlType> {};

TEST_P(QuantizeActivations, Avx512IsBitIdenticalToScalar) {
  if (best_isa_level() < IsaLevel::kAvx512Vnni) GTEST_SKIP() << "no AVX-512 on this CPU";
  const GgmlType type = GetParam();
  for (const int64_t n : {256, 768, 4096}) {
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      const std::vector<float> x = awkward_values(n, seed);
      const size_t bytes = ggml_row_size(type, n);
      std::vector<uint8_t> expected(bytes, 0xAA);
      std::vector<uint8_t> got(bytes, 0x55);
      quantize_activations_scalar(type, x.data(), expected.data(), n);
      ASSERT_TRUE(quantize_activations_avx512(type, x.data(), got.data(), n));
      ASSERT_EQ(got, expected) << ggml_type_name(type) << " n " << n << " seed " << seed;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizeActivations, testing::Values(GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K),
                         [](const testing::TestParamInfo<GgmlType>& param) {
                           return std::string(ggml_type_name(param.param));
                         });

TEST(QuantizeActivations, Avx512DeclinesTypesItDoesNotHandle) {
  if (best_isa_level() < IsaLevel::kAvx512Vnni) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> out(1024);
  EXPECT_FALSE(quantize_activations_avx512(GgmlType::F16, x.data(), out.data(), 256));
}

}  // namespace
}  // namespace tandem::cpu
