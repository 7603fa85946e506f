#pragma once
// The transformer forward pass of the llama family (llama, qwen2, qwen3, gemma3).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/attention_tiles.h"
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

 private:
  friend void forward_batch(const Model&, KvCache&, std::span<const SequenceTokens>, ForwardState&, bool);

  int32_t max_tokens_;
  int32_t n_vocab_;
  int32_t n_ctx_;
  std::unique_ptr<cpu::ThreadPool> pool_;
  std::vector<float> x_;         // [max_tokens, n_embd] residual stream
  std::vector<float> xn_;        // [max_tokens, n_embd] normed input of a sub-layer
  std::vector<float> q_;         // [max_tokens, q_dim]
  std::vector<float> k_;         // [max_tokens, kv_dim]
  std::vector<float> v_;         // [max_tokens, kv_dim]
  std::vector<float> attn_;      // [max_tokens, q_dim]
  std::vector<float> proj_;      // [max_tokens, n_embd] output of a sub-layer
  std::vector<float> gate_;      // [max_tokens, n_ff]
  std::vector<float> up_;        // [max_tokens, n_ff]
  std::vector<float> rope_angles_;        // [max_tokens, n_rot]: cos then sin of each pair
  std::vector<float> rope_local_angles_;  // the same for sliding-window layers (gemma3), or empty
  size_t scores_per_thread_;     // [max_tile_queries, n_ctx]: a thread's attention weights
  std::vector<float> scores_;    // [n_threads, scores_per_thread_]
  AttentionTiling tiling_;          // this batch's attention tiles for global layers
  AttentionTiling sliding_tiling_;  // and for sliding-window layers (one token per run)
  std::vector<float> logits_;    // [rows asked for so far, n_vocab], grown on demand
  std::vector<int32_t> seq_;     // [max_tokens] sequence of each token of the batch
  std::vector<int32_t> pos_;     // [max_tokens] its position in that sequence
  std::vector<int32_t> out_rows_;  // [max_tokens] tokens whose logits are wanted
  cpu::ActivationScratch scratch_;
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
