// Packed weights (kernels/cpu/packed_weights.h): the packed kernels against the scalar reference,
// through matmul, for every packed type, token count and a row count that leaves rows after the
// last group.

#include "kernels/cpu/packed_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/dot_kernels.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/vec_dot.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace tandem::cpu {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float mean) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  // Outliers make some blocks use the full int8 range.
  for (size_t i = 0; i < n; i += 41) x[i] *= 20.0f;
  return x;
}

class PackedWeights : public testing::TestWithParam<GgmlType> {};

TEST_P(PackedWeights, MatmulMatchesScalarReference) {
  const GgmlType type = GetParam();
  if (!has_packed_kernel(type, active_isa_level())) GTEST_SKIP() << "no packed kernel on this CPU";
  constexpr int64_t n_in = 768;
  const int64_t group_rows = packed_group_rows(type);
  const int64_t n_out = 3 * group_rows + 5;  // three groups and five rows after them
  const size_t row_bytes = ggml_row_size(type, n_in);
  std::vector<uint8_t> weights(row_bytes * n_out);
  for (int64_t o = 0; o < n_out; ++o) {
    const std::vector<float> row = random_values(n_in, 1 + static_cast<uint32_t>(o), 0.05f * static_cast<float>(o % 5));
    quantize_row(type, row.data(), weights.data() + static_cast<size_t>(o) * row_bytes, n_in);
  }
  const int64_t n_groups = n_out / group_rows;
  std::unique_ptr<uint8_t[]> packed(new uint8_t[packed_group_bytes(type, n_in) * n_groups]);
  pack_rows(type, weights.data(), row_bytes, n_in, n_groups, packed.get());
  WeightMatrix w{type, weights.data(), n_in, n_out, row_bytes, packed.get()};

  ThreadPool pool(2);
  for (const int64_t n_tokens : {1, 2, 3, 4, 5, 7, 8, 13, 16, 20}) {
    const std::vector<float> x = random_values(static_cast<size_t>(n_in * n_tokens), 99, -0.2f);
    ActivationScratch scratch;
    const ConvertedActivations a = convert_activations(type, x.data(), n_in, n_tokens, scratch, pool);
    std::vector<float> y(static_cast<size_t>(n_out * n_tokens), NAN);
    matmul(w, a, y.data(), pool);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const uint8_t* act = a.data + static_cast<size_t>(t) * a.row_stride;
      for (int64_t o = 0; o < n_out; ++o) {
        const uint8_t* row = weights.data() + static_cast<size_t>(o) * row_bytes;
        const float expected = vec_dot(type, row, act, n_in);
        // Float-order noise relative to the sum of |products|.
        std::vector<float> wd(n_in), ad(n_in);
        dequantize_row(type, row, wd.data(), n_in);
        dequantize_row(a.type, act, ad.data(), n_in);
        double magnitude = 0.0;
        for (int64_t i = 0; i < n_in; ++i) magnitude += std::fabs(static_cast<double>(wd[i]) * ad[i]);
        EXPECT_NEAR(y[static_cast<size_t>(t * n_out + o)], expected, 2e-6 * magnitude + 1e-6)
            << ggml_type_name(type) << " row " << o << " token " << t << " of " << n_tokens;
      }
      // Batching changes no answer: the token alone gives bit-identical outputs.
      ConvertedActivations single = a;
      single.data = act;
      single.n_tokens = 1;
      std::vector<float> alone(static_cast<size_t>(n_out));
      matmul(w, single, alone.data(), pool);
      for (int64_t o = 0; o < n_out; ++o) {
        EXPECT_EQ(y[static_cast<size_t>(t * n_out + o)], alone[static_cast<size_t>(o)])
            << ggml_type_name(type) << " row " << o << " token " << t << " of " << n_tokens;
      }
    }
  }
}

TEST_P(PackedWeights, PackedBlockHoldsTheFileBytesRearranged) {
  const GgmlType type = GetParam();
  // Packing moves memory rather than adding it: the same bytes, or for Q4_K 2.8% more (its
  // scales unpacked).
  const size_t file_bytes = ggml_row_size(type, 256) * static_cast<size_t>(packed_group_rows(type));
  if (type == GgmlType::Q4_K) {
    EXPECT_EQ(packed_group_bytes(type, 256), file_bytes + 32);
  } else {
    EXPECT_EQ(packed_group_bytes(type, 256), file_bytes);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, PackedWeights,
                         testing::Values(GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                         GgmlType::Q4_K, GgmlType::Q6_K),
                         [](const testing::TestParamInfo<GgmlType>& param) {
                           return std::string(ggml_type_name(param.param));
                         });

TEST(PackedWeights, HugePageAdviceChangesNoByteInOrAroundTheRange) {
  // Ranges that hold no whole 2 MiB piece, one that holds several, and an empty one: advice only,
  // the bytes stay as written and nothing outside the range is affected.
  constexpr size_t kBytes = size_t{9} << 20;
  std::vector<uint8_t> buffer(kBytes);
  for (size_t i = 0; i < kBytes; ++i) buffer[i] = static_cast<uint8_t>(i * 131 + 7);
  advise_huge_pages(buffer.data() + 1, 4096);
  advise_huge_pages(buffer.data() + 3, kBytes - 5);
  advise_huge_pages(buffer.data(), 0);
  for (size_t i = 0; i < kBytes; ++i) ASSERT_EQ(buffer[i], static_cast<uint8_t>(i * 131 + 7)) << i;
}

TEST(PackedWeights, NoPackedKernelBelowAvx512OrForOtherTypes) {
  EXPECT_EQ(packed_dot_kernel(GgmlType::Q4_0, IsaLevel::kAvx2), nullptr);
  EXPECT_EQ(packed_dot_kernel(GgmlType::Q4_0, IsaLevel::kScalar), nullptr);
  EXPECT_EQ(packed_dot_kernel(GgmlType::Q5_K, IsaLevel::kAvx512Vnni), nullptr);
  EXPECT_EQ(packed_dot_kernel(GgmlType::F16, IsaLevel::kAvx512Vnni), nullptr);
}

}  // namespace
}  // namespace tandem::cpu
