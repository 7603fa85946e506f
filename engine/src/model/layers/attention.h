#pragma once
// Multi-head self-attention with grouped key/value heads (GQA), RoPE and the KV cache: the
// attention sub-layer of every transformer architecture here. The optional parts (biases on
// Q/K/V for qwen2, per-head RMS norms of queries and keys for qwen3 and gemma3) are used when
// the architecture bound their tensors.

#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "model/forward_context.h"

namespace tandem {

struct AttentionWeights {
  cpu::WeightMatrix wq;            // [n_embd -> n_head * head_dim]
  cpu::WeightMatrix wk;            // [n_embd -> n_head_kv * head_dim]
  cpu::WeightMatrix wv;            // [n_embd -> n_head_kv * head_dim]
  cpu::WeightMatrix wo;            // [n_head * head_dim -> n_embd]
  const float* bq = nullptr;       // [n_head * head_dim] or null
  const float* bk = nullptr;       // [n_head_kv * head_dim] or null
  const float* bv = nullptr;       // [n_head_kv * head_dim] or null
  const float* bo = nullptr;       // [n_embd] or null
  // Per-tensor scales llama.cpp applies after a product (before its bias): [1] each, or null.
  const float* wq_s = nullptr;
  const float* wk_s = nullptr;
  const float* wv_s = nullptr;
  const float* wo_s = nullptr;
  const float* q_norm = nullptr;   // [head_dim] or null
  const float* k_norm = nullptr;   // [head_dim] or null
  // qwen3next: wq is [n_embd -> n_head * 2 * head_dim], each head's query then its gate, and the
  // attention output is multiplied by sigmoid(gate) before wo. bq and wq_s then cover the
  // whole projection, gates included ([n_head * 2 * head_dim]).
  bool q_gate = false;
};

// Layer il's attention of the batch's tokens: projections of xn [n_tokens, n_embd], RoPE at each
// token's position, the new keys and values into the cache, causal attention over each token's
// own sequence (within the sliding window on a sliding layer), and the output projection into
// out [n_tokens, n_embd]. Observer sites kAttnInput and kAttnOutput.
void attention(ForwardContext& ctx, int32_t il, const AttentionWeights& w, bool sliding, const float* xn, float* out);

}  // namespace tandem
