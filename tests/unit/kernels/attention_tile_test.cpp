// The tiled attention kernels (every ISA path this CPU has, on the cache's blocked key layout)
// against the scalar reference attention() on row-major keys.

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/attention.h"
#include "quant/fp16.h"

namespace tandem::cpu {
namespace {

// Random F16 keys and values for n_kv positions, the keys in both layouts.
struct Cache {
  std::vector<uint16_t> rows;     // [n_kv][kv_dim], for the reference
  std::vector<uint16_t> blocked;  // the KV cache's layout (BlockedKeys)
  std::vector<uint16_t> values;   // [n_kv][kv_dim]
  int32_t kv_dim = 0;

  Cache(int32_t n_kv, int32_t kv_dim_, std::mt19937& rng) : kv_dim(kv_dim_) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    rows.resize(static_cast<size_t>(n_kv) * kv_dim);
    values.resize(rows.size());
    for (uint16_t& x : rows) x = fp32_to_fp16(normal(rng));
    for (uint16_t& x : values) x = fp32_to_fp16(normal(rng));
    const int32_t n_blocks = (n_kv + kKeyBlock - 1) / kKeyBlock;
    // Positions past n_kv in the last block hold garbage, as in the cache: a kernel must not read them.
    blocked.assign(static_cast<size_t>(n_blocks) * kKeyBlock * kv_dim, fp32_to_fp16(NAN));
    for (int32_t p = 0; p < n_kv; ++p) {
      for (int32_t i = 0; i < kv_dim; ++i) {
        blocked[static_cast<size_t>((p / kKeyBlock) * kKeyBlock * kv_dim + i * kKeyBlock + p % kKeyBlock)] =
            rows[static_cast<size_t>(p * kv_dim + i)];
      }
    }
  }

  BlockedKeys keys(int32_t kv_head, int32_t head_dim) const {
    return {blocked.data() + static_cast<size_t>(kv_head) * head_dim * kKeyBlock,
            static_cast<int64_t>(kKeyBlock) * kv_dim};
  }
};

std::vector<IsaLevel> levels_here() {
  std::vector<IsaLevel> levels = {IsaLevel::kScalar};
  if (best_isa_level() >= IsaLevel::kAvx2) levels.push_back(IsaLevel::kAvx2);
  if (best_isa_level() >= IsaLevel::kAvx512Vnni) levels.push_back(IsaLevel::kAvx512Vnni);
  return levels;
}

TEST(AttentionTile, EveryPathMatchesTheReference) {
  for (const IsaLevel level : levels_here()) {
    for (const int32_t n_kv : {1, 7, 16, 130}) {
      for (const int32_t first : {0, 5}) {
        if (first >= n_kv) continue;
        for (const float softcap : {0.0f, 30.0f}) {
          for (const int32_t head_dim : {8, 64, 256}) {
            const AttentionShape s{8, 2, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim)), softcap};
            const int32_t kv_dim = s.n_head_kv * head_dim;
            std::mt19937 rng(static_cast<uint32_t>(n_kv + head_dim));
            std::normal_distribution<float> normal(0.0f, 1.0f);
            std::vector<float> q(static_cast<size_t>(s.n_head * head_dim));
            for (float& x : q) x = 2.0f * normal(rng);
            const Cache cache(n_kv, kv_dim, rng);
            // The reference sees positions [first, n_kv) as its whole cache (a sliding window).
            std::vector<float> expected(q.size()), got(q.size()), scores(static_cast<size_t>(n_kv));
            attention(q.data(), cache.rows.data() + first * kv_dim, cache.values.data() + first * kv_dim,
                      n_kv - first, s, expected.data(), scores.data());
            const int32_t group = s.n_head / s.n_head_kv;
            for (int32_t kv_head = 0; kv_head < s.n_head_kv; ++kv_head) {
              AttentionTile tile;
              tile.first = first;
              for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
                tile.q[tile.n_queries] = q.data() + h * head_dim;
                tile.out[tile.n_queries] = got.data() + h * head_dim;
                tile.n_kv[tile.n_queries] = n_kv;
                ++tile.n_queries;
              }
              std::vector<float> tile_scores(static_cast<size_t>(tile.n_queries * n_kv));
              attention_tile(tile, cache.keys(kv_head, head_dim), cache.values.data() + kv_head * head_dim, kv_dim, s,
                             tile_scores.data(), n_kv, level);
            }
            // Same rounding steps; the scores are summed in another order (AVX-512: float). That
            // noise can tip the F16 rounding of a weight now and then, which moves an output by
            // about weight x 2^-11 x value: 1e-5 here.
            for (size_t i = 0; i < got.size(); ++i) {
              ASSERT_NEAR(got[i], expected[i], 2e-5f * (1.0f + std::fabs(expected[i])))
                  << isa_level_name(level) << " head_dim " << head_dim << " n_kv " << n_kv << " first " << first
                  << " softcap " << softcap << " at " << i;
            }
          }
        }
      }
    }
  }
}

// A tile (heads of one group, several tokens with different key counts, as a prompt's causal
// attention has) gives each query exactly what it gets alone: batching never changes an answer.
TEST(AttentionTile, EachQueryBitIdenticalAloneAndInATile) {
  for (const int32_t head_dim : {8, 64, 128}) {
    const AttentionShape s{6, 2, head_dim, 1.0f / std::sqrt(static_cast<float>(head_dim)), 0.0f};
    const int32_t group = s.n_head / s.n_head_kv;
    const int32_t kv_dim = s.n_head_kv * head_dim;
    const int32_t max_kv = 45;
    std::mt19937 rng(static_cast<uint32_t>(head_dim));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    constexpr int32_t kTokens = 5;
    const int64_t q_dim = static_cast<int64_t>(s.n_head) * head_dim;
    std::vector<float> q(static_cast<size_t>(kTokens * q_dim));
    for (float& x : q) x = 2.0f * normal(rng);
    const Cache cache(max_kv, kv_dim, rng);
    const int32_t n_kv_of_token[kTokens] = {1, 16, 17, 31, max_kv};
    const int32_t kv_head = 1;
    const BlockedKeys keys = cache.keys(kv_head, head_dim);
    const uint16_t* values = cache.values.data() + kv_head * head_dim;

    std::vector<float> tiled(q.size(), -1.0f);
    AttentionTile tile;
    for (int32_t t = 0; t < kTokens; ++t) {
      for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        tile.q[tile.n_queries] = q.data() + t * q_dim + h * head_dim;
        tile.out[tile.n_queries] = tiled.data() + t * q_dim + h * head_dim;
        tile.n_kv[tile.n_queries] = n_kv_of_token[t];
        ++tile.n_queries;
      }
    }
    std::vector<float> scores(static_cast<size_t>(tile.n_queries * max_kv));
    attention_tile(tile, keys, values, kv_dim, s, scores.data(), max_kv);

    std::vector<float> alone(static_cast<size_t>(head_dim));
    for (int32_t t = 0; t < kTokens; ++t) {
      for (int32_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        AttentionTile one;
        one.n_queries = 1;
        one.q[0] = q.data() + t * q_dim + h * head_dim;
        one.out[0] = alone.data();
        one.n_kv[0] = n_kv_of_token[t];
        attention_tile(one, keys, values, kv_dim, s, scores.data(), max_kv);
        for (int32_t d = 0; d < head_dim; ++d) {
          ASSERT_EQ(tiled[static_cast<size_t>(t * q_dim + h * head_dim + d)], alone[static_cast<size_t>(d)])
              << "head_dim " << head_dim << " token " << t << " head " << h << " dim " << d;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tandem::cpu
