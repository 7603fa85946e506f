#pragma once
// A hook for tools that study the activations a forward pass computes, such as the importance
// matrix (imatrix) that guides quantization: it sees the input of every weight-matrix product.
// Attach one with ForwardState::set_observer; the pass (model/forward.h) calls it only when one
// is attached, so inference pays a null-pointer test per site (like llama.cpp's cb_eval).
//
// Contract: the layers (model/layers/) call observe() once per site and layer, after the input
// is complete and before the product, with the rows of the tokens of the batch:
//   kAttnInput  the normed input of wq, wk, wv            [n_tokens, n_embd]
//   kAttnOutput the attention result entering wo          [n_tokens, n_head * head_dim]
//   kFfnInput   the normed input of w_gate, w_up          [n_tokens, n_embd]
//   kFfnDown    the gated activation entering w_down      [n_tokens, n_ff]
//   kOutput     the final-normed rows entering `output`   [n_rows, n_embd] (layer = -1)
// An MoE layer reports kFfnInput for the router's (and shared expert's) input, and per expert
// that some token chose, through observe_expert: kFfnInput, the rows routed to it (the input of
// its gate and up matrices) [n_routed, n_embd], and kFfnDown, their gated activation
// [n_routed, n_ff_exp]. Experts are reported in increasing order, after the layer's kFfnInput.
// Calls come from the thread that runs the pass, never concurrently.

#include <cstdint>

namespace tandem {

enum class MatmulSite { kAttnInput, kAttnOutput, kFfnInput, kFfnDown, kOutput };

class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void observe(int32_t layer, MatmulSite site, const float* x, int64_t n_tokens, int64_t n_in) = 0;
  // One expert of n_expert in an MoE layer (see above); ignored unless overridden.
  virtual void observe_expert(int32_t /*layer*/, MatmulSite /*site*/, int32_t /*expert*/, int32_t /*n_expert*/,
                              const float* /*x*/, int64_t /*n_tokens*/, int64_t /*n_in*/) {}
};

}  // namespace tandem
