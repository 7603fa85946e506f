#pragma once
// Causal multi-head attention of one query position over a sequence's cached keys and values
// (grouped-query: n_head query heads share n_head_kv key/value heads).

#include <cstdint>

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

// One query head h of the above, with the fastest kernel the CPU has (same precision rules; the
// double sums may associate differently). Lets callers spread heads and tokens over threads.
void attention_head(const float* q, const uint16_t* k, const uint16_t* v, int32_t n_kv, const AttentionShape& shape,
                    int32_t h, float* out, float* scores);

// Queries that read the same key/value head of one sequence: the query heads of a GQA group, for
// one token or a few consecutive ones. The keys and values are converted from F16 once for all of
// them, which is what makes prompt attention fast; each query's result is bit-identical to
// attention_head's for it alone, so grouping never changes an answer.
constexpr int32_t kMaxTileQueries = 32;
struct AttentionTile {
  int32_t n_queries = 0;
  const float* q[kMaxTileQueries] = {};  // head_dim floats each
  float* out[kMaxTileQueries] = {};      // head_dim floats each
  int32_t n_kv[kMaxTileQueries] = {};    // query i attends keys [0, n_kv[i]) (at least 1)
};

// k, v: the tile's key/value head at its first position (F16, positions kv_stride apart).
// scores: scratch of n_queries rows, scores_stride >= every n_kv floats apart.
void attention_tile(const AttentionTile& tile, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                    const AttentionShape& shape, float* scores, int64_t scores_stride);

// Kernel of attention_head for one head, given pointers already offset to that head; kv_stride
// is the distance between positions. Defined in attention_avx2.cpp (AVX2 + F16C) for x86.
void attention_head_avx2(const float* q_head, const uint16_t* k, const uint16_t* v, int32_t n_kv, int64_t kv_stride,
                         const AttentionShape& shape, float* out_head, float* scores);
// attention_tile for AVX-512 (attention_avx512.cpp): scores summed in float sixteen keys at a
// time, a vector exp; head_dim a multiple of 16, at most 512.
void attention_tile_avx512(const AttentionTile& tile, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                           const AttentionShape& shape, float* scores, int64_t scores_stride);

}  // namespace tandem::cpu
