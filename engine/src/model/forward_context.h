#pragma once
// What one call of the forward pass hands to the layer functions (model/layers/) and the
// architectures (model/arch/): the batch (each token's sequence and position), the activation
// buffers, the threads, the KV cache and the observer. The buffers are sized once by
// ForwardState; nothing here allocates.

#include <cstdint>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"
#include "kv/kv_cache.h"
#include "model/activation_observer.h"
#include "model/attention_tiles.h"
#include "model/model_config.h"

namespace tandem {

// Activation buffers for up to max_tokens tokens of one call. Shapes in tokens x width.
struct ForwardBuffers {
  std::vector<float> x;     // [max_tokens, n_embd] residual stream
  std::vector<float> xn;    // [max_tokens, n_embd] normed input of a sub-layer
  std::vector<float> q;     // [max_tokens, q_dim]
  std::vector<float> q_gate;  // [max_tokens, 2 * q_dim] gated attention's query-and-gate rows, then its
                              // gates [n, q_dim] and output [n, q_dim] (attention.cpp); or empty
  std::vector<float> k;     // [max_tokens, kv_dim]
  std::vector<float> v;     // [max_tokens, kv_dim]
  std::vector<float> attn;  // [max_tokens, q_dim]; empty with gated attention
  std::vector<float> proj;  // [max_tokens, n_embd] output of a sub-layer
  std::vector<float> gate;  // [max_tokens, n_ff] (MoE: n_ff_exp for each of a token's n_expert_used slots)
  std::vector<float> up;    // [max_tokens, n_ff]
  std::vector<float> rope_angles;        // [max_tokens, n_rot]: cos then sin of each pair
  std::vector<float> rope_local_angles;  // the same for sliding-window layers (gemma3), or empty
  size_t scores_per_thread = 0;          // [max_tile_queries, n_ctx]: a thread's attention weights
  std::vector<float> scores;             // [n_threads, scores_per_thread]
  AttentionTiling tiling;                // this batch's attention tiles for global layers
  AttentionTiling sliding_tiling;        // and for sliding-window layers (one token per run)
  std::vector<float> logits;             // [rows asked for so far, n_vocab], grown on demand
  std::vector<int32_t> token;            // [max_tokens] token id of each token of the batch
  std::vector<int32_t> seq;              // [max_tokens] its sequence
  std::vector<int32_t> pos;              // [max_tokens] its position in that sequence
  std::vector<int32_t> out_rows;         // [max_tokens] tokens whose logits are wanted
  cpu::ActivationScratch scratch;
  // Mixture of experts (model/layers/moe.h); empty for dense models.
  std::vector<float> router;           // [max_tokens, n_expert] router logits, then probabilities
  std::vector<int32_t> expert_ids;     // [max_tokens, n_expert_used] experts each token chose
  std::vector<float> expert_weights;   // [max_tokens, n_expert_used] their weights
  std::vector<int32_t> expert_tokens;  // [max_tokens * n_expert_used] tokens grouped by expert
  std::vector<int32_t> expert_slots;   // [max_tokens * n_expert_used] group row of slot t * n_used + k
  std::vector<int32_t> expert_begin;   // [n_expert + 1] where each expert's group starts
  std::vector<int32_t> expert_cursor;  // [n_expert] the next free row of each group
  std::vector<int32_t> expert_list;    // [n_expert] the experts some token chose
  std::vector<uint8_t> expert_in_q;    // [tokens] input rows converted for gate, when up's format differs
  std::vector<float> expert_out;       // [slots, columns of one pass] down's outputs, by group row: a pass
                                       // covers as many of n_embd's columns as fit (moe.cpp)
  // Per thread: what one (expert, block of rows) task works in, grown to the largest task seen.
  struct ExpertTaskScratch {
    std::vector<uint8_t> in;     // the expert's tokens' converted input rows, gathered
    std::vector<uint8_t> in_up;  // the same in up's format, when it differs from gate's
    std::vector<float> up;       // up's rows of the block, until multiplied into gate's
    std::vector<float> tmp;      // a block of rows before placing it
  };
  std::vector<ExpertTaskScratch> expert_task;  // [n_threads]
  std::vector<float> expert_observed;  // an expert's float input rows, only for an attached observer
  std::vector<float> shared_gate;      // [max_tokens] the shared expert's gate logit, or empty
  std::vector<float> shared_out;       // [max_tokens, n_embd] the shared expert's output, or empty
  // Gated DeltaNet (model/layers/deltanet.h); empty without recurrent layers.
  std::vector<float> dn_mixed;    // [max_tokens, conv_dim] q, k, v projected, before the convolution;
                                  // then the recurrence's output [max_tokens, value_dim]
  std::vector<float> dn_conv;     // [max_tokens, conv_dim] after it (first an ssm_in projection, which
                                  // widens it to conv_dim + value_dim when a file has one)
  std::vector<float> dn_z;        // [max_tokens, value_dim] the output gate
  std::vector<float> dn_ba;       // [max_tokens, 2 * n_v_heads] beta and decay inputs
  std::vector<float> dn_scratch;  // [n_threads, chunk scratch]
  std::vector<int32_t> dn_runs;   // [max_tokens + 1] where each sequence's run of tokens starts
};

// Rows of tokens per unit of parallel elementwise work.
constexpr int64_t kRowGrain = 4;

struct ForwardContext {
  const ModelConfig& config;
  KvCache& kv;
  ForwardBuffers& buf;
  cpu::ThreadPool& pool;
  int32_t n_tokens = 0;  // tokens of this call, all sequences together
  int32_t n_out = 0;     // rows of logits wanted (buf.out_rows)
  int32_t n_ctx = 0;     // the longest sequence the buffers were sized for
  ActivationObserver* observer = nullptr;

  // Reports the input of a weight-matrix product (activation_observer.h), when one is attached.
  void observe(int32_t layer, MatmulSite site, const float* x, int64_t rows, int64_t width) const {
    if (observer) observer->observe(layer, site, x, rows, width);
  }
  void observe_expert(int32_t layer, MatmulSite site, int32_t expert, int32_t n_expert, const float* x, int64_t rows,
                      int64_t width) const {
    if (observer) observer->observe_expert(layer, site, expert, n_expert, x, rows, width);
  }
};

// Applies fn(begin, end) to [0, n) in parallel when there is enough work to share.
template <typename Fn>
void maybe_parallel(cpu::ThreadPool& pool, int64_t n, int64_t grain, Fn&& fn) {
  if (n >= 2 * grain && pool.size() > 1) {
    pool.parallel_for(n, grain, fn);
  } else {
    fn(0, n);
  }
}

}  // namespace tandem
