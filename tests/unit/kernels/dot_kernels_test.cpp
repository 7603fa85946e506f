// Every SIMD row kernel against the scalar reference it replaces, for every ISA level this CPU
// has, every weight type and every tile width.

#include "kernels/cpu/dot_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/quantize_activations.h"
#include "kernels/cpu/vec_dot.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace tandem::cpu {
namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::vector<IsaLevel> available_levels() {
  std::vector<IsaLevel> levels = {IsaLevel::kScalar};
  if (best_isa_level() >= IsaLevel::kAvx2) levels.push_back(IsaLevel::kAvx2);
  if (best_isa_level() >= IsaLevel::kAvx512Vnni) levels.push_back(IsaLevel::kAvx512Vnni);
  return levels;
}

std::vector<float> random_row(size_t n, uint32_t seed, float mean, float spread) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, spread);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// Bytes in float-aligned storage (Q8_K blocks hold a float).
struct Buffer {
  std::vector<float> storage;
  explicit Buffer(size_t bytes) : storage((bytes + 3) / 4) {}
  uint8_t* data() { return reinterpret_cast<uint8_t*>(storage.data()); }
};

class DotKernels : public testing::TestWithParam<GgmlType> {};

TEST_P(DotKernels, MatchScalarReferenceAtEveryLevelAndTileWidth) {
  const GgmlType type = GetParam();
  const GgmlType act_type = vec_dot_type(type);
  for (const int64_t n : {256, 1024, 2816}) {
    const std::vector<float> wf = random_row(static_cast<size_t>(n), 7, 0.1f, 1.0f);
    Buffer w(ggml_row_size(type, n));
    quantize_row(type, wf.data(), w.data(), n);
    const size_t stride = activation_row_bytes(act_type, n);
    Buffer act(stride * kMaxTileTokens);
    std::vector<double> magnitude(kMaxTileTokens);
    for (int t = 0; t < kMaxTileTokens; ++t) {
      // Outliers make some blocks use the full int8 range, the case where int16 pair sums could
      // saturate if a kernel got the sign trick wrong.
      std::vector<float> a = random_row(static_cast<size_t>(n), 100 + static_cast<uint32_t>(t), t * 0.3f - 0.4f, 1.0f);
      for (size_t i = 0; i < a.size(); i += 37) a[i] *= 20.0f;
      quantize_activations(act_type, a.data(), act.data() + t * stride, n);
      add_activation_scales(act_type, act.data() + t * stride, n);
      std::vector<float> wd(static_cast<size_t>(n));
      std::vector<float> ad(static_cast<size_t>(n));
      dequantize_row(type, w.data(), wd.data(), n);
      dequantize_row(act_type, act.data() + t * stride, ad.data(), n);
      for (int64_t i = 0; i < n; ++i) magnitude[static_cast<size_t>(t)] += std::fabs(static_cast<double>(wd[i]) * ad[i]);
    }
    for (IsaLevel level : available_levels()) {
      const RowDotFn fn = row_dot_kernel(type, level);
      for (int n_tok = 1; n_tok <= kMaxTileTokens; ++n_tok) {
        std::vector<float> out(static_cast<size_t>(kMaxTileTokens) * 3, -1.0f);
        fn(w.data(), act.data(), stride, n, n_tok, out.data(), 3);
        for (int t = 0; t < n_tok; ++t) {
          const float expected = vec_dot(type, w.data(), act.data() + t * stride, n);
          // Float-order noise of a sum of n terms, plus the Q4_1 / Q5_1 min terms.
          const double tolerance = 1e-6 * magnitude[static_cast<size_t>(t)] + 1e-6 * std::fabs(expected) + 1e-6;
          EXPECT_NEAR(out[static_cast<size_t>(t) * 3], expected, tolerance)
              << ggml_type_name(type) << " n=" << n << " level=" << isa_level_name(level) << " n_tok=" << n_tok
              << " t=" << t;
        }
        for (int t = n_tok; t < kMaxTileTokens; ++t) EXPECT_EQ(out[static_cast<size_t>(t) * 3], -1.0f);
        // Batching changes no answer: each activation's result is bit-identical to computing it
        // alone, whatever the tile width.
        for (int t = 0; t < n_tok; ++t) {
          float alone = 0.0f;
          fn(w.data(), act.data() + t * stride, stride, n, 1, &alone, 1);
          EXPECT_EQ(out[static_cast<size_t>(t) * 3], alone)
              << ggml_type_name(type) << " n=" << n << " level=" << isa_level_name(level) << " n_tok=" << n_tok;
        }
      }
    }
  }
}

std::string type_name(const testing::TestParamInfo<GgmlType>& param_info) {
  return std::string(ggml_type_name(param_info.param));
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, DotKernels, testing::ValuesIn(kTypes), type_name);

TEST(DotKernelDispatch, ScalarLevelIsTheReference) {
  const int64_t n = 512;
  const std::vector<float> wf = random_row(n, 1, 0.0f, 1.0f);
  const std::vector<float> af = random_row(n, 2, 0.0f, 1.0f);
  Buffer w(ggml_row_size(GgmlType::Q4_K, n));
  Buffer a(ggml_row_size(GgmlType::Q8_K, n));
  quantize_row(GgmlType::Q4_K, wf.data(), w.data(), n);
  quantize_activations(GgmlType::Q8_K, af.data(), a.data(), n);
  float out = 0;
  row_dot_kernel(GgmlType::Q4_K, IsaLevel::kScalar)(w.data(), a.data(), 0, n, 1, &out, 1);
  EXPECT_EQ(out, vec_dot(GgmlType::Q4_K, w.data(), a.data(), n));
}

TEST(CpuFeatures, LevelsAreConsistent) {
  const CpuFeatures& f = cpu_features();
  if (best_isa_level() >= IsaLevel::kAvx2) {
    EXPECT_TRUE(f.avx2 && f.fma && f.f16c);
  }
  if (best_isa_level() >= IsaLevel::kAvx512Vnni) {
    EXPECT_TRUE(f.avx512f && f.avx512bw && f.avx512_vnni);
  }
  EXPECT_LE(active_isa_level(), best_isa_level());
  EXPECT_FALSE(std::string(isa_level_name(active_isa_level())).empty());
}

}  // namespace
}  // namespace tandem::cpu
