#pragma once
// A plain forward pass of one sequence that reports the input of every matrix product to an
// ActivationObserver (model/activation_observer.h), for statistics such as the imatrix.
//
// It computes what model/forward.cpp computes, with the same kernels, but favours simplicity
// over speed (one sequence, its own key/value buffers). It exists because the production pass
// has no observer hook yet; once forward() calls an attached observer, imatrix collection can
// run through the Engine and this file can go.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/activation_observer.h"

namespace tandem {
class Model;
}

namespace tandem::eval {

class ObservedForward {
 public:
  // n_ctx: the longest sequence run() will see. n_threads: 0 = one per hardware thread.
  ObservedForward(const Model& model, int32_t n_ctx, int32_t n_threads);
  ~ObservedForward();

  // Runs `tokens` from position 0 (a fresh sequence). With logits, fills one row of n_vocab per
  // token. observer may be null.
  void run(std::span<const int32_t> tokens, ActivationObserver* observer, std::vector<float>* logits);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tandem::eval
