#include "model/forward.h"

#include <cmath>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/rope.h"
#include "quant/fp16.h"

namespace tandem {

ForwardState::ForwardState(const ModelConfig& c, int32_t max_tokens, int32_t n_ctx)
    : max_tokens_(max_tokens),
      n_vocab_(c.n_vocab),
      x_(static_cast<size_t>(max_tokens) * c.n_embd),
      xn_(x_.size()),
      q_(static_cast<size_t>(max_tokens) * c.q_dim()),
      k_(static_cast<size_t>(max_tokens) * c.kv_dim()),
      v_(k_.size()),
      attn_(q_.size()),
      proj_(x_.size()),
      gate_(static_cast<size_t>(max_tokens) * c.n_ff),
      up_(gate_.size()),
      scores_(static_cast<size_t>(n_ctx)),
      logits_(static_cast<size_t>(max_tokens) * c.n_vocab) {}

std::span<const float> ForwardState::logits(int32_t row) const {
  return {logits_.data() + static_cast<size_t>(row) * n_vocab_, static_cast<size_t>(n_vocab_)};
}

namespace {

// Gemma 3 alternates local (sliding-window) and global attention layers.
bool is_sliding_layer(const ModelConfig& c, int32_t layer) {
  return c.sliding_window_pattern > 0 && (layer + 1) % c.sliding_window_pattern != 0;
}

void rms_norm_rows(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) cpu::rms_norm(x + r * n, weight, y + r * n, n, eps);
}

void add_bias(float* y, const float* bias, int64_t n_rows, int64_t n) {
  if (!bias) return;
  for (int64_t r = 0; r < n_rows; ++r) cpu::add(y + r * n, bias, n);
}

void store_f16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

}  // namespace

void forward(const Model& model, KvCache& kv, int32_t seq, std::span<const int32_t> tokens, ForwardState& s,
             bool all_logits) {
  const ModelConfig& c = model.config();
  const ModelWeights& w = model.weights();
  const int32_t n = static_cast<int32_t>(tokens.size());
  const int32_t pos0 = kv.length(seq);
  TANDEM_CHECK(n > 0 && n <= s.max_tokens_);
  TANDEM_CHECK(pos0 + n <= kv.n_ctx());
  const int64_t d = c.n_embd;

  // Embedding look-up (Gemma scales embeddings by sqrt(n_embd)).
  for (int32_t t = 0; t < n; ++t) {
    TANDEM_CHECK(tokens[t] >= 0 && tokens[t] < c.n_vocab);
    cpu::get_row(w.token_embd, tokens[t], s.x_.data() + t * d);
    if (c.gemma_style) cpu::scale(s.x_.data() + t * d, std::sqrt(static_cast<float>(d)), d);
  }

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  cpu::AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim, c.scale_queries ? 1.0f : attn_scale};
  for (int32_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = w.layers[static_cast<size_t>(il)];

    // Attention block: norm, Q/K/V projections, per-head norms, RoPE, cache, attention, output.
    rms_norm_rows(s.x_.data(), l.attn_norm, s.xn_.data(), n, d, c.rms_eps);
    cpu::matmul(l.wq, s.xn_.data(), s.q_.data(), n, s.scratch_);
    cpu::matmul(l.wk, s.xn_.data(), s.k_.data(), n, s.scratch_);
    cpu::matmul(l.wv, s.xn_.data(), s.v_.data(), n, s.scratch_);
    add_bias(s.q_.data(), l.bq, n, c.q_dim());
    add_bias(s.k_.data(), l.bk, n, c.kv_dim());
    add_bias(s.v_.data(), l.bv, n, c.kv_dim());
    if (c.qk_norm) {
      rms_norm_rows(s.q_.data(), l.q_norm, s.q_.data(), static_cast<int64_t>(n) * c.n_head, c.head_dim, c.rms_eps);
      rms_norm_rows(s.k_.data(), l.k_norm, s.k_.data(), static_cast<int64_t>(n) * c.n_head_kv, c.head_dim, c.rms_eps);
    }
    cpu::RopeParams rope = c.rope;
    if (is_sliding_layer(c, il)) {
      rope.freq_base = c.rope_local_freq_base;
      rope.freq_scale = 1.0f;
    }
    for (int32_t t = 0; t < n; ++t) {
      cpu::rope(s.q_.data() + t * c.q_dim(), c.n_head, c.head_dim, pos0 + t, rope);
      cpu::rope(s.k_.data() + t * c.kv_dim(), c.n_head_kv, c.head_dim, pos0 + t, rope);
    }
    if (c.scale_queries) cpu::scale(s.q_.data(), attn_scale, static_cast<int64_t>(n) * c.q_dim());
    store_f16(s.k_.data(), kv.keys(seq, il, pos0), static_cast<int64_t>(n) * c.kv_dim());
    store_f16(s.v_.data(), kv.values(seq, il, pos0), static_cast<int64_t>(n) * c.kv_dim());
    for (int32_t t = 0; t < n; ++t) {
      const int32_t n_kv = pos0 + t + 1;  // causal: a token sees itself and what came before
      int32_t first = 0;
      if (is_sliding_layer(c, il) && n_kv > c.sliding_window) first = n_kv - c.sliding_window;
      cpu::attention(s.q_.data() + t * c.q_dim(), kv.keys(seq, il, first), kv.values(seq, il, first), n_kv - first,
                     shape, s.attn_.data() + t * c.q_dim(), s.scores_.data());
    }
    cpu::matmul(l.wo, s.attn_.data(), s.proj_.data(), n, s.scratch_);
    if (l.post_attn_norm) rms_norm_rows(s.proj_.data(), l.post_attn_norm, s.proj_.data(), n, d, c.rms_eps);
    cpu::add(s.x_.data(), s.proj_.data(), static_cast<int64_t>(n) * d);

    // Feed-forward block: norm, gated MLP (SwiGLU, or GeGLU for Gemma), residual.
    rms_norm_rows(s.x_.data(), l.ffn_norm, s.xn_.data(), n, d, c.rms_eps);
    cpu::matmul(l.w_gate, s.xn_.data(), s.gate_.data(), n, s.scratch_);
    cpu::matmul(l.w_up, s.xn_.data(), s.up_.data(), n, s.scratch_);
    if (c.gemma_style) {
      cpu::gelu_mul(s.gate_.data(), s.up_.data(), static_cast<int64_t>(n) * c.n_ff);
    } else {
      cpu::silu_mul(s.gate_.data(), s.up_.data(), static_cast<int64_t>(n) * c.n_ff);
    }
    cpu::matmul(l.w_down, s.gate_.data(), s.proj_.data(), n, s.scratch_);
    if (l.post_ffn_norm) rms_norm_rows(s.proj_.data(), l.post_ffn_norm, s.proj_.data(), n, d, c.rms_eps);
    cpu::add(s.x_.data(), s.proj_.data(), static_cast<int64_t>(n) * d);
  }
  kv.set_length(seq, pos0 + n);

  // Output: final norm and the vocabulary projection (only the rows asked for).
  const int32_t first_row = all_logits ? 0 : n - 1;
  const int32_t n_rows = n - first_row;
  rms_norm_rows(s.x_.data() + first_row * d, w.output_norm, s.xn_.data(), n_rows, d, c.rms_eps);
  cpu::matmul(w.output, s.xn_.data(), s.logits_.data(), n_rows, s.scratch_);
}

}  // namespace tandem
