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
// out: [n_head * head_dim]. scores: scratch of at least n_kv floats.
void attention(const float* q, const uint16_t* k, const uint16_t* v, int32_t n_kv, const AttentionShape& shape,
               float* out, float* scores);

}  // namespace tandem::cpu
