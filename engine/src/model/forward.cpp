#include "model/forward.h"

#include "core/check.h"
#include "kernels/cpu/rope.h"
#include "model/arch/architectures.h"
#include "model/layers/deltanet.h"

namespace tandem {

ForwardState::ForwardState(const ModelConfig& c, int32_t max_tokens, int32_t n_ctx, int32_t n_threads)
    : max_tokens_(max_tokens),
      n_vocab_(c.n_vocab),
      n_ctx_(n_ctx),
      pool_(std::make_unique<cpu::ThreadPool>(n_threads)) {
  const size_t tokens = static_cast<size_t>(max_tokens);
  ForwardBuffers& b = buf_;
  b.x.resize(tokens * c.n_embd);
  b.xn.resize(b.x.size());
  b.q.resize(tokens * c.q_dim());
  b.k.resize(tokens * c.kv_dim());
  b.v.resize(b.k.size());
  // Gated attention (qwen3next) writes its output into the back half of q_gate instead.
  if (c.arch != Architecture::kQwen3Next) b.attn.resize(b.q.size());
  b.proj.resize(b.x.size());
  // A mixture-of-experts model has no dense feed-forward: size_moe_buffers sizes these.
  if (!c.is_moe()) {
    b.gate.resize(tokens * c.n_ff);
    b.up.resize(b.gate.size());
  }
  b.rope_angles.resize(tokens * static_cast<size_t>(c.rope.n_rot));
  if (c.has_sliding_layers()) b.rope_local_angles.resize(b.rope_angles.size());
  b.scores_per_thread = static_cast<size_t>(max_tile_queries(c.n_head, c.n_head_kv)) * static_cast<size_t>(n_ctx);
  b.scores.resize(static_cast<size_t>(pool_->size()) * b.scores_per_thread);
  b.logits.resize(static_cast<size_t>(c.n_vocab));
  b.token.resize(tokens);
  b.seq.resize(tokens);
  b.pos.resize(tokens);
  b.out_rows.resize(tokens);
  if (c.n_expert > 0) size_moe_buffers(b, c, max_tokens);
  if (c.arch == Architecture::kQwen3Next) {
    b.q_gate.resize(2 * b.q.size());
    size_deltanet_buffers(b, c, max_tokens, pool_->size());
  }
}

std::span<const float> ForwardState::logits(int32_t row) const {
  TANDEM_CHECK(row >= 0 && static_cast<size_t>(row + 1) * static_cast<size_t>(n_vocab_) <= buf_.logits.size());
  return {buf_.logits.data() + static_cast<size_t>(row) * n_vocab_, static_cast<size_t>(n_vocab_)};
}

void forward(const Model& model, KvCache& kv, int32_t seq, std::span<const int32_t> tokens, ForwardState& s,
             bool all_logits) {
  const SequenceTokens one[1] = {{seq, tokens}};
  forward_batch(model, kv, one, s, all_logits);
}

void forward_batch(const Model& model, KvCache& kv, std::span<const SequenceTokens> batches, ForwardState& s,
                   bool all_logits) {
  const ModelConfig& c = model.config();
  ForwardBuffers& b = s.buf_;
  cpu::ThreadPool& pool = *s.pool_;

  // Lay the sequences' tokens out one after the other, each with its sequence and position.
  int32_t n = 0;
  int32_t n_out = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    const SequenceTokens& batch = batches[i];
    const int32_t count = static_cast<int32_t>(batch.tokens.size());
    TANDEM_CHECK(count > 0 && n + count <= s.max_tokens_);
    for (size_t other = 0; other < i; ++other) TANDEM_CHECK(batches[other].seq != batch.seq);
    const int32_t pos0 = kv.length(batch.seq);
    TANDEM_CHECK(pos0 + count <= kv.n_ctx() && pos0 + count <= s.n_ctx_);
    for (int32_t j = 0; j < count; ++j) {
      const int32_t token = batch.tokens[static_cast<size_t>(j)];
      TANDEM_CHECK(token >= 0 && token < c.n_vocab);
      b.token[static_cast<size_t>(n + j)] = token;
      b.seq[static_cast<size_t>(n + j)] = batch.seq;
      b.pos[static_cast<size_t>(n + j)] = pos0 + j;
      if (all_logits || j == count - 1) b.out_rows[static_cast<size_t>(n_out++)] = n + j;
    }
    n += count;
  }
  TANDEM_CHECK(n > 0);

  // RoPE angles depend on the position only: once per token for every layer (and once more with
  // the local frequency base when the model has sliding-window layers).
  const cpu::RopeParams rope_local = c.rope_of(true);
  const bool has_sliding = c.has_sliding_layers();
  maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
    const int32_t n_pairs = c.rope.n_rot / 2;
    for (int64_t t = begin; t < end; ++t) {
      const int32_t pos = b.pos[static_cast<size_t>(t)];
      float* global = b.rope_angles.data() + t * 2 * n_pairs;
      cpu::rope_angles(pos, c.rope, global, global + n_pairs);
      if (has_sliding) {
        float* local = b.rope_local_angles.data() + t * 2 * n_pairs;
        cpu::rope_angles(pos, rope_local, local, local + n_pairs);
      }
    }
  });

  // The attention tiles depend on the batch only: one plan for global layers, one for sliding ones.
  const std::span<const int32_t> token_seqs(b.seq.data(), static_cast<size_t>(n));
  plan_attention_tiles(token_seqs, c.n_head, c.n_head_kv, pool.size(), false, b.tiling);
  if (has_sliding) plan_attention_tiles(token_seqs, c.n_head, c.n_head_kv, pool.size(), true, b.sliding_tiling);

  ForwardContext ctx{c, kv, b, pool, n, n_out, s.n_ctx_, s.observer_};
  architecture_spec(c.arch).forward(model.weights(), ctx);

  for (const SequenceTokens& batch : batches) {
    kv.set_length(batch.seq, kv.length(batch.seq) + static_cast<int32_t>(batch.tokens.size()));
  }
}

}  // namespace tandem
