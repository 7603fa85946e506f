#pragma once
// A hook for tools that study the activations a forward pass computes, such as the importance
// matrix (imatrix) that guides quantization: it sees the input of every weight-matrix product.
// The pass calls it only when one is attached, so inference pays a null-pointer test per site.
//
// Contract for a forward pass that supports it: call observe() once per site and layer, after
// the input is complete and before the product, with the rows of the tokens of the batch:
//   kAttnInput  the normed input of wq, wk, wv            [n_tokens, n_embd]
//   kAttnOutput the attention result entering wo          [n_tokens, n_head * head_dim]
//   kFfnInput   the normed input of w_gate, w_up          [n_tokens, n_embd]
//   kFfnDown    the gated activation entering w_down      [n_tokens, n_ff]
//   kOutput     the final-normed rows entering `output`   [n_rows, n_embd] (layer = -1)
// Calls come from the thread that runs the pass, never concurrently.

#include <cstdint>

namespace tandem {

enum class MatmulSite { kAttnInput, kAttnOutput, kFfnInput, kFfnDown, kOutput };

class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void observe(int32_t layer, MatmulSite site, const float* x, int64_t n_tokens, int64_t n_in) = 0;
};

}  // namespace tandem
