#pragma once
// The mixture-of-experts feed-forward sub-layer (Shazeer et al., arXiv:1701.06538; as in
// Qwen2-MoE, Qwen3-MoE and Qwen3-Next): a router picks n_expert_used of n_expert gated
// feed-forward experts for each token, and the token's output is their weighted sum, plus an
// optional shared expert that every token runs, scaled by a sigmoid gate.
//
// Cost model: the tokens routed to one expert are gathered and multiplied by that expert's
// matrices in one matmul (the packed kernels read each expert once per call), and an expert that
// no token of the batch chose is never read.

#include <cstdint>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "model/forward_context.h"
#include "model/layers/feed_forward.h"

namespace tandem {

struct MoeWeights {
  cpu::WeightMatrix gate_inp;                // [n_embd -> n_expert] the router
  std::vector<cpu::WeightMatrix> gate_exps;  // n_expert x [n_embd -> n_ff_exp]
  std::vector<cpu::WeightMatrix> up_exps;    // n_expert x [n_embd -> n_ff_exp]
  std::vector<cpu::WeightMatrix> down_exps;  // n_expert x [n_ff_exp -> n_embd]
  FeedForwardWeights shexp;                  // shared expert [n_embd -> n_ff_shexp], or empty
  cpu::WeightMatrix gate_inp_shexp;          // [n_embd -> 1] the shared expert's gate, or empty
  // Optional per-expert scales [n_expert] of each product's output (llama.cpp's *_exps.scale).
  const float* gate_exps_s = nullptr;
  const float* up_exps_s = nullptr;
  const float* down_exps_s = nullptr;

  bool present() const { return gate_inp.data != nullptr; }
};

// How the router's logits become expert weights (each architecture's metadata says).
struct MoeRouting {
  int32_t n_expert = 0;
  int32_t n_expert_used = 0;
  bool norm_top_k = true;     // renormalise the chosen experts' probabilities to sum to 1
  float weights_scale = 1.0f;  // then scale them (0 or 1: unscaled)
  Activation act = Activation::kSilu;
};

// out[n_tokens, n_embd] = the MoE feed-forward of xn[n_tokens, n_embd]: softmax of the router's
// logits, the top n_expert_used (ties to the lower index, as a stable sort), optionally
// renormalised, each chosen expert's SwiGLU weighted by its probability, summed in the order of
// the choice; plus the shared expert times sigmoid(gate_inp_shexp . xn) when present. A token's
// result does not depend on the other tokens of the batch. Observer sites of layer il:
// kFfnInput (the router's and experts' input) and kFfnDown (per expert: its gathered rows).
void moe_feed_forward(ForwardContext& ctx, int32_t il, const MoeWeights& w, const MoeRouting& routing,
                      const float* xn, float* out);

// Sizes the MoE buffers of ForwardBuffers for max_tokens tokens.
void size_moe_buffers(ForwardBuffers& buf, const ModelConfig& config, int32_t max_tokens);

}  // namespace tandem
