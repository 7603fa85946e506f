#pragma once
// Causal multi-head attention of query positions over a sequence's cached keys and values
// (grouped-query: n_head query heads share n_head_kv key/value heads).

#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace tandem::cpu {

struct AttentionShape {
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
  float scale = 1.0f;        // usually 1/sqrt(head_dim)
  float softcap = 0.0f;      // tanh soft-capping of scores (gemma 2); 0 disables
};

// q: [n_head * head_dim] floats. k, v: F16 caches, n_kv positions of [n_head_kv * head_dim] each.
// out: [n_head * head_dim]. scores: scratch of at least n_kv floats. The scalar reference.
void attention(const float* q, const uint16_t* k, const uint16_t* v, int32_t n_kv, const AttentionShape& shape,
               float* out, float* scores);

// The KV cache's key layout: positions in blocks of kKeyBlock, each block dimension-major, so
// that one vector holds one dimension of sixteen keys and a kernel scores sixteen keys with
// multiply-adds alone (no transposition, no horizontal sums).
constexpr int32_t kKeyBlock = 16;

// The keys of one key/value head: position p's dimension d is at
// base[(p / kKeyBlock) * block_stride + d * kKeyBlock + p % kKeyBlock].
struct BlockedKeys {
  const uint16_t* base = nullptr;
  int64_t block_stride = 0;  // kKeyBlock * kv_dim for the cache
};

// Queries that read the same key/value head of one sequence: the query heads of a GQA group, for
// one token or a few consecutive ones. Keys and values are converted from F16 once for all of
// them, which is what makes prompt attention fast; each query's arithmetic does not depend on
// which others share its tile, so grouping never changes an answer.
constexpr int32_t kMaxTileQueries = 32;
struct AttentionTile {
  int32_t n_queries = 0;
  int32_t first = 0;                     // first position attended (a sliding window's start)
  const float* q[kMaxTileQueries] = {};  // head_dim floats each
  float* out[kMaxTileQueries] = {};      // head_dim floats each
  int32_t n_kv[kMaxTileQueries] = {};    // query i attends positions [first, n_kv[i]), at least one
};

// v: the tile's value head at position 0 (F16, positions v_stride apart). scores: scratch of
// n_queries rows, scores_stride >= every n_kv - first floats apart. Runs the kernel of
// active_isa_level(), or of `level` (at most best_isa_level(): tests compare every path).
void attention_tile(const AttentionTile& tile, BlockedKeys k, const uint16_t* v, int64_t v_stride,
                    const AttentionShape& shape, float* scores, int64_t scores_stride);
void attention_tile(const AttentionTile& tile, BlockedKeys k, const uint16_t* v, int64_t v_stride,
                    const AttentionShape& shape, float* scores, int64_t scores_stride, IsaLevel level);

// One query of a tile, for CPUs with AVX2 + F16C (attention_avx2.cpp).
void attention_query_avx2(const float* q, int32_t first, int32_t n_kv, BlockedKeys k, const uint16_t* v,
                          int64_t v_stride, const AttentionShape& shape, float* out, float* scores);
// attention_tile for AVX-512 (attention_avx512.cpp): head_dim a multiple of 16, at most 512.
void attention_tile_avx512(const AttentionTile& tile, BlockedKeys k, const uint16_t* v, int64_t v_stride,
                           const AttentionShape& shape, float* scores, int64_t scores_stride);

}  // namespace tandem::cpu
