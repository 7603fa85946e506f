#pragma once
// The transformer forward pass of the llama family (llama, qwen2, qwen3, gemma3).

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace tandem {

// Activation buffers for up to max_tokens tokens per call, sized once: the decode loop
// allocates nothing.
class ForwardState {
 public:
  ForwardState(const ModelConfig& config, int32_t max_tokens, int32_t n_ctx);

  int32_t max_tokens() const { return max_tokens_; }
  // Logits of the last call: one row of n_vocab per token (or only the last token's row).
  std::span<const float> logits(int32_t row = 0) const;

 private:
  friend void forward(const Model&, KvCache&, int32_t, std::span<const int32_t>, ForwardState&, bool);

  int32_t max_tokens_;
  int32_t n_vocab_;
  std::vector<float> x_;         // [max_tokens, n_embd] residual stream
  std::vector<float> xn_;        // [max_tokens, n_embd] normed input of a sub-layer
  std::vector<float> q_;         // [max_tokens, q_dim]
  std::vector<float> k_;         // [max_tokens, kv_dim]
  std::vector<float> v_;         // [max_tokens, kv_dim]
  std::vector<float> attn_;      // [max_tokens, q_dim]
  std::vector<float> proj_;      // [max_tokens, n_embd] output of a sub-layer
  std::vector<float> gate_;      // [max_tokens, n_ff]
  std::vector<float> up_;        // [max_tokens, n_ff]
  std::vector<float> scores_;    // [n_ctx]
  std::vector<float> logits_;    // [max_tokens, n_vocab]
  cpu::ActivationScratch scratch_;
};

// Runs `tokens` of sequence `seq` at positions kv.length(seq) onwards, appends their keys and
// values to the cache and leaves logits in `state` (for every token when all_logits, else for
// the last). tokens.size() <= state.max_tokens() and the cache must have room (checked).
void forward(const Model& model, KvCache& kv, int32_t seq, std::span<const int32_t> tokens, ForwardState& state,
             bool all_logits);

}  // namespace tandem
