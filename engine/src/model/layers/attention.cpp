#include "model/layers/attention.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/vec_dot.h"
#include "model/layers/norm.h"

namespace tandem {
namespace {

void add_bias(float* y, const float* bias, int64_t n_rows, int64_t n) {
  if (!bias) return;
  for (int64_t r = 0; r < n_rows; ++r) cpu::add(y + r * n, bias, n);
}

void scale_by(float* y, const float* s, int64_t n) {
  if (s) cpu::scale(y, *s, n);
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

// Gated attention (qwen3next): rows of [n_head][query head_dim, gate head_dim]; copies the queries
// into q [n, q_dim] and moves the gates to the front of q_gate, [n, q_dim], so that its back half
// can take the attention's output (ForwardState sizes no separate attn for these models).
void split_query_gate(const ModelConfig& c, float* q_gate, float* q, int32_t n) {
  for (int64_t t = 0; t < n; ++t) {
    for (int32_t h = 0; h < c.n_head; ++h) {
      const int64_t head = t * c.n_head + h;
      const float* src = q_gate + head * 2 * c.head_dim;
      std::copy_n(src, c.head_dim, q + t * c.q_dim() + h * c.head_dim);
      // Forward order is safe: a gate moves below its source and above every gate moved before.
      std::copy_n(src + c.head_dim, c.head_dim, q_gate + head * c.head_dim);
    }
  }
}

// attn *= sigmoid(gate), head by head; gate [n, q_dim] as split_query_gate leaves it.
void apply_output_gate(ForwardContext& ctx, const float* gates, float* attn) {
  const ModelConfig& c = ctx.config;
  maybe_parallel(ctx.pool, ctx.n_tokens, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      for (int32_t h = 0; h < c.n_head; ++h) {
        const float* gate = gates + (t * c.n_head + h) * c.head_dim;
        float* out = attn + t * c.q_dim() + h * c.head_dim;
        for (int32_t i = 0; i < c.head_dim; ++i) out[i] *= 1.0f / (1.0f + std::exp(-gate[i]));
      }
    }
  });
}

}  // namespace

void attention(ForwardContext& ctx, int32_t il, const AttentionWeights& w, bool sliding, const float* xn, float* out) {
  const ModelConfig& c = ctx.config;
  ForwardBuffers& s = ctx.buf;
  cpu::ThreadPool& pool = ctx.pool;
  KvCache& kv = ctx.kv;
  const int32_t n = ctx.n_tokens;
  const int64_t d = c.n_embd;

  // Q/K/V projections; K and V usually share Q's activation format, converted once.
  ctx.observe(il, MatmulSite::kAttnInput, xn, n, d);
  const cpu::ConvertedActivations xq = cpu::convert_activations(w.wq.type, xn, d, n, s.scratch, pool);
  if (w.q_gate) {
    // Each head's query then its gate: the queries go on as usual, the gates wait in q_gate.
    cpu::matmul(w.wq, xq, s.q_gate.data(), pool);
    // Scale and bias cover the gates too: llama.cpp splits the rows after adding them.
    scale_by(s.q_gate.data(), w.wq_s, static_cast<int64_t>(n) * 2 * c.q_dim());
    add_bias(s.q_gate.data(), w.bq, n, 2 * static_cast<int64_t>(c.q_dim()));
    split_query_gate(c, s.q_gate.data(), s.q.data(), n);
  } else {
    cpu::matmul(w.wq, xq, s.q.data(), pool);
  }
  if (vec_dot_type(w.wk.type) == xq.type) {
    cpu::matmul(w.wk, xq, s.k.data(), pool);
  } else {
    cpu::matmul(w.wk, xn, s.k.data(), n, s.scratch, pool);
  }
  if (vec_dot_type(w.wv.type) == xq.type && vec_dot_type(w.wk.type) == xq.type) {
    cpu::matmul(w.wv, xq, s.v.data(), pool);
  } else {
    cpu::matmul(w.wv, xn, s.v.data(), n, s.scratch, pool);
  }
  if (!w.q_gate) {
    scale_by(s.q.data(), w.wq_s, static_cast<int64_t>(n) * c.q_dim());
    add_bias(s.q.data(), w.bq, n, c.q_dim());
  }
  scale_by(s.k.data(), w.wk_s, static_cast<int64_t>(n) * c.kv_dim());
  scale_by(s.v.data(), w.wv_s, static_cast<int64_t>(n) * c.kv_dim());
  add_bias(s.k.data(), w.bk, n, c.kv_dim());
  add_bias(s.v.data(), w.bv, n, c.kv_dim());
  if (w.q_norm) rms_norm_rows(ctx, s.q.data(), w.q_norm, s.q.data(), static_cast<int64_t>(n) * c.n_head, c.head_dim);
  if (w.k_norm) {
    rms_norm_rows(ctx, s.k.data(), w.k_norm, s.k.data(), static_cast<int64_t>(n) * c.n_head_kv, c.head_dim);
  }

  // RoPE at each token's position (angles computed once per call), then into the cache.
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const cpu::RopeParams rope = c.rope_of(sliding);
  const std::vector<float>& angles = sliding ? s.rope_local_angles : s.rope_angles;
  const int32_t n_pairs = rope.n_rot / 2;
  maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int32_t seq = s.seq[static_cast<size_t>(t)];
      const int32_t pos = s.pos[static_cast<size_t>(t)];
      float* qt = s.q.data() + t * c.q_dim();
      float* kt = s.k.data() + t * c.kv_dim();
      const float* cos_theta = angles.data() + t * 2 * n_pairs;
      cpu::rope_rotate(qt, c.n_head, c.head_dim, cos_theta, cos_theta + n_pairs, rope);
      cpu::rope_rotate(kt, c.n_head_kv, c.head_dim, cos_theta, cos_theta + n_pairs, rope);
      if (c.scale_queries) cpu::scale(qt, attn_scale, c.q_dim());
      kv.write_key(seq, il, pos, kt);
      kv.write_value(seq, il, pos, s.v.data() + t * c.kv_dim());
    }
  });

  // Tiles of queries that share a key/value head are independent; each thread has its own score
  // rows.
  const cpu::AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim, c.scale_queries ? 1.0f : attn_scale};
  const AttentionTiling& tiling = sliding ? s.sliding_tiling : s.tiling;
  float* attn = w.q_gate ? s.q_gate.data() + static_cast<int64_t>(n) * c.q_dim() : s.attn.data();
  const BatchQueries queries{s.q.data(), attn, s.seq.data(), s.pos.data()};
  pool.parallel_for_indexed(tiling.n_tiles(), 1, [&](int64_t begin, int64_t end, int thread) {
    float* scores = s.scores.data() + static_cast<size_t>(thread) * s.scores_per_thread;
    for (int64_t i = begin; i < end; ++i) {
      attend_tile(c, kv, il, sliding, shape, queries, tiling.slot(i), scores, ctx.n_ctx);
    }
  });
  if (w.q_gate) apply_output_gate(ctx, s.q_gate.data(), attn);
  ctx.observe(il, MatmulSite::kAttnOutput, attn, n, c.q_dim());
  cpu::matmul(w.wo, attn, out, n, s.scratch, pool);
  scale_by(out, w.wo_s, static_cast<int64_t>(n) * d);
  add_bias(out, w.bo, n, d);
}

}  // namespace tandem
