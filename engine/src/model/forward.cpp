#include "model/forward.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/vec_dot.h"

namespace tandem {

ForwardState::ForwardState(const ModelConfig& c, int32_t max_tokens, int32_t n_ctx, int32_t n_threads)
    : max_tokens_(max_tokens),
      n_vocab_(c.n_vocab),
      n_ctx_(n_ctx),
      pool_(std::make_unique<cpu::ThreadPool>(n_threads)),
      x_(static_cast<size_t>(max_tokens) * c.n_embd),
      xn_(x_.size()),
      q_(static_cast<size_t>(max_tokens) * c.q_dim()),
      k_(static_cast<size_t>(max_tokens) * c.kv_dim()),
      v_(k_.size()),
      attn_(q_.size()),
      proj_(x_.size()),
      gate_(static_cast<size_t>(max_tokens) * c.n_ff),
      up_(gate_.size()),
      rope_angles_(static_cast<size_t>(max_tokens) * static_cast<size_t>(c.rope.n_rot)),
      rope_local_angles_(c.has_sliding_layers() ? rope_angles_.size() : 0),
      scores_per_thread_(static_cast<size_t>(max_tile_queries(c.n_head, c.n_head_kv)) * static_cast<size_t>(n_ctx)),
      scores_(static_cast<size_t>(pool_->size()) * scores_per_thread_),
      logits_(static_cast<size_t>(c.n_vocab)),
      seq_(static_cast<size_t>(max_tokens)),
      pos_(seq_.size()),
      out_rows_(seq_.size()) {}

std::span<const float> ForwardState::logits(int32_t row) const {
  TANDEM_CHECK(row >= 0 && static_cast<size_t>(row + 1) * static_cast<size_t>(n_vocab_) <= logits_.size());
  return {logits_.data() + static_cast<size_t>(row) * n_vocab_, static_cast<size_t>(n_vocab_)};
}

namespace {

// Rows of tokens per unit of parallel elementwise work.
constexpr int64_t kRowGrain = 4;

void rms_norm_rows(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n, float eps,
                   cpu::ThreadPool& pool) {
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) cpu::rms_norm(x + r * n, weight, y + r * n, n, eps);
  };
  if (n_rows >= 2 * kRowGrain) {
    pool.parallel_for(n_rows, kRowGrain, rows);
  } else {
    rows(0, n_rows);
  }
}

void add_bias(float* y, const float* bias, int64_t n_rows, int64_t n) {
  if (!bias) return;
  for (int64_t r = 0; r < n_rows; ++r) cpu::add(y + r * n, bias, n);
}

// Applies fn(begin, end) to [0, n) in parallel when there is enough work to share.
template <typename Fn>
void maybe_parallel(cpu::ThreadPool& pool, int64_t n, int64_t grain, Fn&& fn) {
  if (n >= 2 * grain && pool.size() > 1) {
    pool.parallel_for(n, grain, fn);
  } else {
    fn(0, n);
  }
}

// What attend_tile reads of a batch: queries and outputs [n, q_dim], each token's sequence and
// position.
struct BatchQueries {
  const float* q;
  float* out;
  const int32_t* seq;
  const int32_t* pos;
};

// One attention tile of layer il: its queries (tokens x heads) attend their sequence's cache.
void attend_tile(const ModelConfig& c, const KvCache& kv, int32_t il, bool sliding, const cpu::AttentionShape& shape,
                 const BatchQueries& b, const TileSlot& slot, float* scores, int64_t scores_stride) {
  // Causal: each token sees itself and what came before; a sliding layer sees its window (one
  // token per run there, so the whole tile starts at that token's window).
  cpu::AttentionTile tile;
  const int32_t last_kv = b.pos[slot.run.end - 1] + 1;
  if (sliding && last_kv > c.sliding_window) tile.first = last_kv - c.sliding_window;
  for (int32_t t = slot.run.begin; t < slot.run.end; ++t) {
    for (int32_t h = slot.head_begin; h < slot.head_end; ++h) {
      tile.q[tile.n_queries] = b.q + static_cast<int64_t>(t) * c.q_dim() + h * c.head_dim;
      tile.out[tile.n_queries] = b.out + static_cast<int64_t>(t) * c.q_dim() + h * c.head_dim;
      tile.n_kv[tile.n_queries] = b.pos[t] + 1;
      ++tile.n_queries;
    }
  }
  const int32_t seq = b.seq[slot.run.begin];
  const cpu::BlockedKeys keys{kv.key_blocks(seq, il) + slot.kv_head * c.head_dim * cpu::kKeyBlock,
                              kv.key_block_stride()};
  cpu::attention_tile(tile, keys, kv.values(seq, il) + slot.kv_head * c.head_dim, c.kv_dim(), shape, scores,
                      scores_stride);
}

}  // namespace

void forward(const Model& model, KvCache& kv, int32_t seq, std::span<const int32_t> tokens, ForwardState& s,
             bool all_logits) {
  const SequenceTokens one[1] = {{seq, tokens}};
  forward_batch(model, kv, one, s, all_logits);
}

void forward_batch(const Model& model, KvCache& kv, std::span<const SequenceTokens> batches, ForwardState& s,
                   bool all_logits) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  cpu::ThreadPool& pool = *s.pool_;
  const int64_t d = c.n_embd;

  // Lay the sequences' tokens out one after the other, each with its sequence and position.
  int32_t n = 0;
  int32_t n_out = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    const SequenceTokens& batch = batches[b];
    const int32_t count = static_cast<int32_t>(batch.tokens.size());
    TANDEM_CHECK(count > 0 && n + count <= s.max_tokens_);
    for (size_t other = 0; other < b; ++other) TANDEM_CHECK(batches[other].seq != batch.seq);
    const int32_t pos0 = kv.length(batch.seq);
    TANDEM_CHECK(pos0 + count <= kv.n_ctx() && pos0 + count <= s.n_ctx_);
    for (int32_t i = 0; i < count; ++i) {
      const int32_t token = batch.tokens[static_cast<size_t>(i)];
      TANDEM_CHECK(token >= 0 && token < c.n_vocab);
      s.seq_[static_cast<size_t>(n + i)] = batch.seq;
      s.pos_[static_cast<size_t>(n + i)] = pos0 + i;
      if (all_logits || i == count - 1) s.out_rows_[static_cast<size_t>(n_out++)] = n + i;
      cpu::get_row(w.token_embd, token, s.x_.data() + (n + i) * d);
      // Gemma scales embeddings by sqrt(n_embd).
      if (c.gemma_style) cpu::scale(s.x_.data() + (n + i) * d, std::sqrt(static_cast<float>(d)), d);
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
      const int32_t pos = s.pos_[static_cast<size_t>(t)];
      float* global = s.rope_angles_.data() + t * 2 * n_pairs;
      cpu::rope_angles(pos, c.rope, global, global + n_pairs);
      if (has_sliding) {
        float* local = s.rope_local_angles_.data() + t * 2 * n_pairs;
        cpu::rope_angles(pos, rope_local, local, local + n_pairs);
      }
    }
  });

  // The attention tiles depend on the batch only: one plan for global layers, one for sliding ones.
  const std::span<const int32_t> token_seqs(s.seq_.data(), static_cast<size_t>(n));
  plan_attention_tiles(token_seqs, c.n_head, c.n_head_kv, pool.size(), false, s.tiling_);
  if (has_sliding) plan_attention_tiles(token_seqs, c.n_head, c.n_head_kv, pool.size(), true, s.sliding_tiling_);

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const cpu::AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim, c.scale_queries ? 1.0f : attn_scale};
  for (int32_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = w.layers[static_cast<size_t>(il)];
    const bool sliding = c.is_sliding_layer(il);

    // Attention block: norm, Q/K/V projections, per-head norms, RoPE, cache, attention, output.
    rms_norm_rows(s.x_.data(), l.attn_norm, s.xn_.data(), n, d, c.rms_eps, pool);
    const cpu::ConvertedActivations xq = cpu::convert_activations(l.wq.type, s.xn_.data(), d, n, s.scratch_, pool);
    cpu::matmul(l.wq, xq, s.q_.data(), pool);
    // K and V usually share Q's activation format; convert again only when they do not.
    if (vec_dot_type(l.wk.type) == xq.type) {
      cpu::matmul(l.wk, xq, s.k_.data(), pool);
    } else {
      cpu::matmul(l.wk, s.xn_.data(), s.k_.data(), n, s.scratch_, pool);
    }
    if (vec_dot_type(l.wv.type) == xq.type && vec_dot_type(l.wk.type) == xq.type) {
      cpu::matmul(l.wv, xq, s.v_.data(), pool);
    } else {
      cpu::matmul(l.wv, s.xn_.data(), s.v_.data(), n, s.scratch_, pool);
    }
    add_bias(s.q_.data(), l.bq, n, c.q_dim());
    add_bias(s.k_.data(), l.bk, n, c.kv_dim());
    add_bias(s.v_.data(), l.bv, n, c.kv_dim());
    if (c.qk_norm) {
      rms_norm_rows(s.q_.data(), l.q_norm, s.q_.data(), static_cast<int64_t>(n) * c.n_head, c.head_dim, c.rms_eps,
                    pool);
      rms_norm_rows(s.k_.data(), l.k_norm, s.k_.data(), static_cast<int64_t>(n) * c.n_head_kv, c.head_dim, c.rms_eps,
                    pool);
    }
    const cpu::RopeParams& rope = sliding ? rope_local : c.rope;
    const std::vector<float>& angles = sliding ? s.rope_local_angles_ : s.rope_angles_;
    const int32_t n_pairs = rope.n_rot / 2;
    maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int32_t seq = s.seq_[static_cast<size_t>(t)];
        const int32_t pos = s.pos_[static_cast<size_t>(t)];
        float* qt = s.q_.data() + t * c.q_dim();
        float* kt = s.k_.data() + t * c.kv_dim();
        const float* cos_theta = angles.data() + t * 2 * n_pairs;
        cpu::rope_rotate(qt, c.n_head, c.head_dim, cos_theta, cos_theta + n_pairs, rope);
        cpu::rope_rotate(kt, c.n_head_kv, c.head_dim, cos_theta, cos_theta + n_pairs, rope);
        if (c.scale_queries) cpu::scale(qt, attn_scale, c.q_dim());
        kv.write_key(seq, il, pos, kt);
        kv.write_value(seq, il, pos, s.v_.data() + t * c.kv_dim());
      }
    });
    // Tiles of queries that share a key/value head are independent; each thread has its own
    // score rows.
    const AttentionTiling& tiling = sliding ? s.sliding_tiling_ : s.tiling_;
    const BatchQueries queries{s.q_.data(), s.attn_.data(), s.seq_.data(), s.pos_.data()};
    pool.parallel_for_indexed(tiling.n_tiles(), 1, [&](int64_t begin, int64_t end, int thread) {
      float* scores = s.scores_.data() + static_cast<size_t>(thread) * s.scores_per_thread_;
      for (int64_t i = begin; i < end; ++i) {
        attend_tile(c, kv, il, sliding, shape, queries, tiling.slot(i), scores, s.n_ctx_);
      }
    });
    cpu::matmul(l.wo, s.attn_.data(), s.proj_.data(), n, s.scratch_, pool);
    if (l.post_attn_norm) rms_norm_rows(s.proj_.data(), l.post_attn_norm, s.proj_.data(), n, d, c.rms_eps, pool);
    cpu::add(s.x_.data(), s.proj_.data(), static_cast<int64_t>(n) * d);

    // Feed-forward block: norm, gated MLP (SwiGLU, or GeGLU for Gemma), residual.
    rms_norm_rows(s.x_.data(), l.ffn_norm, s.xn_.data(), n, d, c.rms_eps, pool);
    const cpu::ConvertedActivations xf = cpu::convert_activations(l.w_gate.type, s.xn_.data(), d, n, s.scratch_, pool);
    cpu::matmul(l.w_gate, xf, s.gate_.data(), pool);
    if (vec_dot_type(l.w_up.type) == xf.type) {
      cpu::matmul(l.w_up, xf, s.up_.data(), pool);
    } else {
      cpu::matmul(l.w_up, s.xn_.data(), s.up_.data(), n, s.scratch_, pool);
    }
    maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
      float* gate = s.gate_.data() + begin * c.n_ff;
      const float* up = s.up_.data() + begin * c.n_ff;
      const int64_t count = (end - begin) * c.n_ff;
      if (c.gemma_style) {
        cpu::gelu_mul(gate, up, count);
      } else {
        cpu::silu_mul(gate, up, count);
      }
    });
    cpu::matmul(l.w_down, s.gate_.data(), s.proj_.data(), n, s.scratch_, pool);
    if (l.post_ffn_norm) rms_norm_rows(s.proj_.data(), l.post_ffn_norm, s.proj_.data(), n, d, c.rms_eps, pool);
    cpu::add(s.x_.data(), s.proj_.data(), static_cast<int64_t>(n) * d);
  }
  for (const SequenceTokens& batch : batches) {
    kv.set_length(batch.seq, kv.length(batch.seq) + static_cast<int32_t>(batch.tokens.size()));
  }

  // Output: final norm and the vocabulary projection (only the rows asked for).
  for (int32_t r = 0; r < n_out; ++r) {
    const int32_t t = s.out_rows_[static_cast<size_t>(r)];
    cpu::rms_norm(s.x_.data() + t * d, w.output_norm, s.xn_.data() + r * d, d, c.rms_eps);
  }
  // Logit rows grow to the most ever asked for (one per sequence when decoding; every token only
  // for evaluate), not to max_tokens up front: 512 rows of a 32k vocabulary are 64 MiB.
  const size_t logit_floats = static_cast<size_t>(n_out) * static_cast<size_t>(c.n_vocab);
  if (s.logits_.size() < logit_floats) s.logits_.resize(logit_floats);
  cpu::matmul(w.output, s.xn_.data(), s.logits_.data(), n_out, s.scratch_, pool);
}

}  // namespace tandem
