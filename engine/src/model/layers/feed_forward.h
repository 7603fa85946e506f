#pragma once
// The dense gated feed-forward sub-layer (Shazeer, arXiv:2002.05202): down(act(gate(x)) * up(x)),
// with SiLU (SwiGLU: llama, qwen) or tanh-GELU (GeGLU: gemma).

#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "model/forward_context.h"

namespace tandem {

enum class Activation { kSilu, kGelu };

struct FeedForwardWeights {
  cpu::WeightMatrix w_gate;  // [n_embd -> n_ff]
  cpu::WeightMatrix w_up;    // [n_embd -> n_ff]
  cpu::WeightMatrix w_down;  // [n_ff -> n_embd]
  // Optional, as llama.cpp allows for every architecture: biases [n_ff] / [n_embd], added after
  // the product, and per-tensor scales [1], applied after the bias.
  const float* b_gate = nullptr;
  const float* b_up = nullptr;
  const float* b_down = nullptr;
  const float* gate_s = nullptr;
  const float* up_s = nullptr;
  const float* down_s = nullptr;
};

// out[n_rows, n_embd] = the feed-forward of xn[n_rows, n_embd], using buf.gate and buf.up as its
// [n_rows, n_ff] scratch. layer < 0 reports nothing to the observer (an MoE expert reports its
// own sites); otherwise sites kFfnInput and kFfnDown.
void feed_forward(ForwardContext& ctx, int32_t layer, const FeedForwardWeights& w, Activation act, const float* xn,
                  float* out, int32_t n_rows);

}  // namespace tandem
