// The dispatched per-head attention kernel against the scalar reference attention().

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/attention.h"
#include "quant/fp16.h"

namespace tandem::cpu {
namespace {

TEST(AttentionHead, MatchesScalarReference) {
  for (const int n_kv : {1, 7, 130}) {
    for (const float softcap : {0.0f, 30.0f}) {
      for (const int32_t head_dim : {8, 64, 256}) {
        const AttentionShape s{8, 2, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim)), softcap};
        std::mt19937 rng(static_cast<uint32_t>(n_kv));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> q(static_cast<size_t>(s.n_head * s.head_dim));
        for (float& x : q) x = 2.0f * normal(rng);
        std::vector<uint16_t> k(static_cast<size_t>(n_kv * s.n_head_kv * s.head_dim));
        std::vector<uint16_t> v(k.size());
        for (uint16_t& x : k) x = fp32_to_fp16(normal(rng));
        for (uint16_t& x : v) x = fp32_to_fp16(normal(rng));
        std::vector<float> expected(q.size()), got(q.size()), scores(static_cast<size_t>(n_kv));
        attention(q.data(), k.data(), v.data(), n_kv, s, expected.data(), scores.data());
        for (int32_t h = 0; h < s.n_head; ++h) {
          attention_head(q.data(), k.data(), v.data(), n_kv, s, h, got.data(), scores.data());
        }
        // Same rounding steps; the scores are summed in another order (AVX2: double, AVX-512:
        // float). That noise can tip the F16 rounding of a weight now and then, which moves an
        // output by about weight x 2^-11 x value: 1e-5 here.
        for (size_t i = 0; i < got.size(); ++i) {
          EXPECT_NEAR(got[i], expected[i], 2e-5f * (1.0f + std::fabs(expected[i])))
              << "head_dim " << head_dim << " n_kv " << n_kv << " softcap " << softcap << " at " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tandem::cpu
