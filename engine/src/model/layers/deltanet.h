#pragma once
// Gated DeltaNet linear attention (Yang et al., arXiv:2412.06464), the recurrent sub-layer of
// Qwen3-Next, as llama.cpp's qwen3next graph computes it:
//   q, k, v = split(causal_conv1d(W_qkv x)) through SiLU;  z = W_gate x;  b, a = W_ba x
//   q, k L2-normalised per head (q also scaled by 1/sqrt(d_k));  beta = sigmoid(b)
//   g = softplus(a + dt_bias) * A   (A = -exp(A_log), stored so by the converter)
//   o = gated delta rule (kernels/cpu/delta_net.h) per value head, key heads shared by
//       n_v_heads / n_k_heads value heads
//   out = W_out (rms_norm(o) * norm * silu(z))  per value head
// The convolution's last inputs and the delta rule's state live in the sequence's recurrent
// state (kv/recurrent_state.h), so a sequence continues where its last call left off. Prompt
// runs use the chunked form of the recurrence, single tokens the recurrent one.

#include <cstdint>
#include <vector>

#include "kernels/cpu/delta_net.h"
#include "kernels/cpu/matmul.h"
#include "kv/recurrent_state.h"
#include "model/forward_context.h"

namespace tandem {

// Prompts run the chunked recurrence in chunks that start at multiples of this many positions of
// the sequence. A scheduler that cuts prompts at such multiples gets the same bits however it cuts.
constexpr int32_t kDeltaNetChunkTokens = cpu::kDeltaNetChunk;

// Sizes of a DeltaNet layer, from {arch}.ssm.* metadata.
struct DeltaNetShape {
  int32_t d_conv = 0;     // ssm.conv_kernel
  int32_t n_k_heads = 0;  // ssm.group_count
  int32_t n_v_heads = 0;  // ssm.time_step_rank
  int32_t d_k = 0;        // ssm.state_size: key (and query) head width
  int32_t d_v = 0;        // ssm.inner_size / n_v_heads: value head width

  int64_t key_dim() const { return static_cast<int64_t>(n_k_heads) * d_k; }
  int64_t value_dim() const { return static_cast<int64_t>(n_v_heads) * d_v; }
  int64_t conv_dim() const { return 2 * key_dim() + value_dim(); }  // q, k, v channels
  // Per-sequence state of one layer (RecurrentShape's fields).
  int64_t conv_floats() const { return static_cast<int64_t>(d_conv - 1) * conv_dim(); }
  int64_t state_floats() const { return static_cast<int64_t>(n_v_heads) * d_v * d_k; }
};

DeltaNetShape deltanet_shape(const ModelConfig& c);

// The recurrent layers' state a KV cache must keep for this model (empty without any).
RecurrentShape recurrent_shape(const ModelConfig& c);

struct DeltaNetWeights {
  cpu::WeightMatrix wqkv;        // attn_qkv [n_embd -> conv_dim]: q, k, v (all heads of each)
  cpu::WeightMatrix wgate;       // attn_gate [n_embd -> value_dim]: z
  cpu::WeightMatrix ssm_in;      // older files: ssm_in [n_embd -> conv_dim + value_dim], q, k, v, z
                                 // grouped by key head, instead of wqkv and wgate
  cpu::WeightMatrix w_ba;        // ssm_ba [n_embd -> 2 * n_v_heads]: per key head, its value
                                 // heads' b then their a
  const float* conv = nullptr;   // ssm_conv1d [conv_dim, d_conv]
  const float* dt_bias = nullptr;  // ssm_dt.bias [n_v_heads]
  const float* a = nullptr;      // ssm_a [n_v_heads]: -exp(A_log)
  const float* norm = nullptr;   // ssm_norm [d_v]
  cpu::WeightMatrix w_out;       // ssm_out [value_dim -> n_embd]

  bool present() const { return w_out.data != nullptr; }
};

// Layer il's DeltaNet over the batch: xn [n_tokens, n_embd] in, out [n_tokens, n_embd]. Each
// sequence's tokens must be contiguous in the batch, in order. Observer sites kAttnInput (the
// projections' input) and kAttnOutput (the gated-normed output entering w_out).
void deltanet(ForwardContext& ctx, int32_t il, const DeltaNetWeights& w, const float* xn, float* out);

// Sizes the DeltaNet buffers of ForwardBuffers for max_tokens tokens and n_threads threads.
void size_deltanet_buffers(ForwardBuffers& buf, const ModelConfig& config, int32_t max_tokens, int32_t n_threads);

}  // namespace tandem
