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

// Kernel of attention_head for one head, given pointers already offset to that head; kv_stride
// is the distance between positions. Defined in attention_avx2.cpp (AVX2 + F16C) for x86.
void attention_head_avx2(const float* q_head, const uint16_t* k, const uint16_t* v, int32_t n_kv, int64_t kv_stride,
                         const AttentionShape& shape, float* out_head, float* scores);
// The same for AVX-512 (attention_avx512.cpp): scores summed in float sixteen keys at a time, a
// vector exp; head_dim a multiple of 16.
void attention_head_avx512(const float* q_head, const uint16_t* k, const uint16_t* v, int32_t n_kv,
                           int64_t kv_stride, const AttentionShape& shape, float* out_head, float* scores);

}  // namespace tandem::cpu
