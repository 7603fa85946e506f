#pragma once
// The forward pass: lays a batch of sequences' tokens out, then runs the model's architecture
// (model/arch/) over it. One pass for every architecture and for every caller: inference, the
// batched scheduler, evaluation and imatrix collection (through an ActivationObserver).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/activation_observer.h"
#include "model/forward_context.h"
#include "model/model.h"

namespace tandem {

// New tokens of one sequence of the KV cache, for forward_batch.
struct SequenceTokens {
  int32_t seq = 0;
  std::span<const int32_t> tokens;
};

// Activation buffers for up to max_tokens tokens per call (summed over sequences), sized once
// (the logits grow to the most rows ever asked for), and the threads that run the pass: the
// decode loop allocates nothing once warm and starts no thread.
class ForwardState {
 public:
  // n_threads: 0 = one per hardware thread.
  ForwardState(const ModelConfig& config, int32_t max_tokens, int32_t n_ctx, int32_t n_threads = 1);

  int32_t max_tokens() const { return max_tokens_; }
  int32_t n_threads() const { return pool_->size(); }
  // Logits of the last call, one row of n_vocab each: for forward(), one per token (all_logits)
  // or the last token's; for forward_batch(), see there.
  std::span<const float> logits(int32_t row = 0) const;

  // Attaches an observer (activation_observer.h) that sees the input of every matrix product of
  // the following calls; null detaches it. Not owned; it must outlive its attachment.
  void set_observer(ActivationObserver* observer) { observer_ = observer; }

 private:
  friend void forward_batch(const Model&, KvCache&, std::span<const SequenceTokens>, ForwardState&, bool);

  int32_t max_tokens_;
  int32_t n_vocab_;
  int32_t n_ctx_;
  std::unique_ptr<cpu::ThreadPool> pool_;
  ActivationObserver* observer_ = nullptr;
  ForwardBuffers buf_;
};

// Runs `tokens` of sequence `seq` at positions kv.length(seq) onwards, appends their keys and
// values to the cache and leaves logits in `state` (for every token when all_logits, else for
// the last). tokens.size() <= state.max_tokens() and the cache must have room (checked).
void forward(const Model& model, KvCache& kv, int32_t seq, std::span<const int32_t> tokens, ForwardState& state,
             bool all_logits);

// The same for several sequences at once (continuous batching): every weight matrix is read once
// for all their tokens. Each sequence (distinct, checked) continues at kv.length(seq). Logits:
// with all_logits, one row per token in batch order; otherwise row i holds the last token of
// batches[i]. The total token count must fit state.max_tokens().
void forward_batch(const Model& model, KvCache& kv, std::span<const SequenceTokens> batches, ForwardState& state,
                   bool all_logits);

}  // namespace tandem
