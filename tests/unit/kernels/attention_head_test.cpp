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

// A tile (heads of one group, several tokens with different key counts, as a prompt's causal
// attention has) must give each query exactly what it gets alone: batching never changes an answer.
TEST(AttentionTile, EachQueryBitIdenticalToItsHeadAlone) {
  for (const int32_t head_dim : {8, 64, 128}) {
    const AttentionShape s{6, 2, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim)), 0.0f};
    const int32_t group = s.n_head / s.n_head_kv;
    const int32_t max_kv = 45;
    std::mt19937 rng(static_cast<uint32_t>(head_dim));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int32_t n_tokens = 5;
    std::vector<float> q(static_cast<size_t>(n_tokens * s.n_head * head_dim));
    for (float& x : q) x = 2.0f * normal(rng);
    std::vector<uint16_t> k(static_cast<size_t>(max_kv * s.n_head_kv * head_dim));
    std::vector<uint16_t> v(k.size());
    for (uint16_t& x : k) x = fp32_to_fp16(normal(rng));
    for (uint16_t& x : v) x = fp32_to_fp16(normal(rng));
    const int32_t n_kv_of_token[n_tokens] = {1, 16, 17, 31, max_kv};
    const int32_t kv_head = 1;
    const int64_t kv_stride = static_cast<int64_t>(s.n_head_kv) * head_dim;
    const int64_t q_dim = static_cast<int64_t>(s.n_head) * head_dim;

    std::vector<float> tiled(q.size(), -1.0f);
    AttentionTile tile;
    for (int32_t t = 0; t < n_tokens; ++t) {
      for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        tile.q[tile.n_queries] = q.data() + t * q_dim + h * head_dim;
        tile.out[tile.n_queries] = tiled.data() + t * q_dim + h * head_dim;
        tile.n_kv[tile.n_queries] = n_kv_of_token[t];
        ++tile.n_queries;
      }
    }
    std::vector<float> scores(static_cast<size_t>(tile.n_queries * max_kv));
    attention_tile(tile, k.data() + kv_head * head_dim, v.data() + kv_head * head_dim, kv_stride, s, scores.data(),
                   max_kv);

    std::vector<float> alone(static_cast<size_t>(q_dim));
    for (int32_t t = 0; t < n_tokens; ++t) {
      for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        attention_head(q.data() + t * q_dim, k.data(), v.data(), n_kv_of_token[t], s, h, alone.data(), scores.data());
        for (int32_t d = 0; d < head_dim; ++d) {
          ASSERT_EQ(tiled[static_cast<size_t>(t * q_dim + h * head_dim + d)], alone[static_cast<size_t>(h * head_dim + d)])
              << "head_dim " << head_dim << " token " << t << " head " << h << " dim " << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tandem::cpu
