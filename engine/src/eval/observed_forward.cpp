#include "eval/observed_forward.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/thread_pool.h"
#include "model/model.h"
#include "quant/fp16.h"

namespace tandem::eval {

struct ObservedForward::State {
  const Model& model;
  int32_t n_ctx;
  cpu::ThreadPool pool;
  cpu::ActivationScratch scratch;
  std::vector<float> x, xn, q, k, v, attn, proj, gate, up, scores;
  std::vector<uint16_t> k_cache, v_cache;  // [n_layer][n_ctx][kv_dim], F16 as the engine's cache

  State(const Model& m, int32_t ctx, int32_t n_threads) : model(m), n_ctx(ctx), pool(n_threads) {}
};

ObservedForward::ObservedForward(const Model& model, int32_t n_ctx, int32_t n_threads)
    : state_(std::make_unique<State>(model, n_ctx, n_threads)) {
  const ModelConfig& c = model.config();
  State& s = *state_;
  const size_t n = static_cast<size_t>(n_ctx);
  s.x.resize(n * c.n_embd);
  s.xn.resize(s.x.size());
  s.proj.resize(s.x.size());
  s.q.resize(n * c.q_dim());
  s.attn.resize(s.q.size());
  s.k.resize(n * c.kv_dim());
  s.v.resize(s.k.size());
  s.gate.resize(n * c.n_ff);
  s.up.resize(s.gate.size());
  s.scores.resize(n);
  s.k_cache.resize(static_cast<size_t>(c.n_layer) * n * c.kv_dim());
  s.v_cache.resize(s.k_cache.size());
}

ObservedForward::~ObservedForward() = default;

void ObservedForward::run(std::span<const int32_t> tokens, ActivationObserver* observer, std::vector<float>* logits) {
  State& s = *state_;
  const ModelConfig& c = s.model.config();
  const ModelWeights& w = s.model.weights();
  const int64_t n = static_cast<int64_t>(tokens.size());
  TANDEM_CHECK(n > 0 && n <= s.n_ctx);
  const int64_t d = c.n_embd;
  auto observe = [&](int32_t layer, MatmulSite site, const float* x, int64_t rows, int64_t width) {
    if (observer) observer->observe(layer, site, x, rows, width);
  };
  auto norm_rows = [](const float* x, const float* weight, float* y, int64_t rows, int64_t width, float eps) {
    for (int64_t r = 0; r < rows; ++r) cpu::rms_norm(x + r * width, weight, y + r * width, width, eps);
  };
  auto add_bias = [](float* y, const float* bias, int64_t rows, int64_t width) {
    if (!bias) return;
    for (int64_t r = 0; r < rows; ++r) cpu::add(y + r * width, bias, width);
  };

  for (int64_t t = 0; t < n; ++t) {
    cpu::get_row(w.token_embd, tokens[static_cast<size_t>(t)], s.x.data() + t * d);
    if (c.gemma_style) cpu::scale(s.x.data() + t * d, std::sqrt(static_cast<float>(d)), d);
  }
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const cpu::AttentionShape shape{c.n_head, c.n_head_kv, c.head_dim, c.scale_queries ? 1.0f : attn_scale};
  const size_t layer_stride = static_cast<size_t>(s.n_ctx) * c.kv_dim();
  for (int32_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = w.layers[static_cast<size_t>(il)];
    const bool sliding = c.is_sliding_layer(il);
    uint16_t* kc = s.k_cache.data() + il * layer_stride;
    uint16_t* vc = s.v_cache.data() + il * layer_stride;

    norm_rows(s.x.data(), l.attn_norm, s.xn.data(), n, d, c.rms_eps);
    observe(il, MatmulSite::kAttnInput, s.xn.data(), n, d);
    cpu::matmul(l.wq, s.xn.data(), s.q.data(), n, s.scratch, s.pool);
    cpu::matmul(l.wk, s.xn.data(), s.k.data(), n, s.scratch, s.pool);
    cpu::matmul(l.wv, s.xn.data(), s.v.data(), n, s.scratch, s.pool);
    add_bias(s.q.data(), l.bq, n, c.q_dim());
    add_bias(s.k.data(), l.bk, n, c.kv_dim());
    add_bias(s.v.data(), l.bv, n, c.kv_dim());
    if (c.qk_norm) {
      norm_rows(s.q.data(), l.q_norm, s.q.data(), n * c.n_head, c.head_dim, c.rms_eps);
      norm_rows(s.k.data(), l.k_norm, s.k.data(), n * c.n_head_kv, c.head_dim, c.rms_eps);
    }
    const cpu::RopeParams rope = c.rope_of(sliding);
    for (int64_t t = 0; t < n; ++t) {
      float* qt = s.q.data() + t * c.q_dim();
      float* kt = s.k.data() + t * c.kv_dim();
      cpu::rope(qt, c.n_head, c.head_dim, static_cast<int32_t>(t), rope);
      cpu::rope(kt, c.n_head_kv, c.head_dim, static_cast<int32_t>(t), rope);
      if (c.scale_queries) cpu::scale(qt, attn_scale, c.q_dim());
      for (int32_t i = 0; i < c.kv_dim(); ++i) {
        kc[t * c.kv_dim() + i] = fp32_to_fp16(kt[i]);
        vc[t * c.kv_dim() + i] = fp32_to_fp16(s.v[static_cast<size_t>(t * c.kv_dim() + i)]);
      }
    }
    for (int64_t t = 0; t < n; ++t) {
      const int32_t n_kv = static_cast<int32_t>(t) + 1;
      int32_t first = 0;
      if (sliding && n_kv > c.sliding_window) first = n_kv - c.sliding_window;
      cpu::attention(s.q.data() + t * c.q_dim(), kc + static_cast<size_t>(first) * c.kv_dim(),
                     vc + static_cast<size_t>(first) * c.kv_dim(), n_kv - first, shape, s.attn.data() + t * c.q_dim(),
                     s.scores.data());
    }
    observe(il, MatmulSite::kAttnOutput, s.attn.data(), n, c.q_dim());
    cpu::matmul(l.wo, s.attn.data(), s.proj.data(), n, s.scratch, s.pool);
    if (l.post_attn_norm) norm_rows(s.proj.data(), l.post_attn_norm, s.proj.data(), n, d, c.rms_eps);
    cpu::add(s.x.data(), s.proj.data(), n * d);

    norm_rows(s.x.data(), l.ffn_norm, s.xn.data(), n, d, c.rms_eps);
    observe(il, MatmulSite::kFfnInput, s.xn.data(), n, d);
    cpu::matmul(l.w_gate, s.xn.data(), s.gate.data(), n, s.scratch, s.pool);
    cpu::matmul(l.w_up, s.xn.data(), s.up.data(), n, s.scratch, s.pool);
    if (c.gemma_style) {
      cpu::gelu_mul(s.gate.data(), s.up.data(), n * c.n_ff);
    } else {
      cpu::silu_mul(s.gate.data(), s.up.data(), n * c.n_ff);
    }
    observe(il, MatmulSite::kFfnDown, s.gate.data(), n, c.n_ff);
    cpu::matmul(l.w_down, s.gate.data(), s.proj.data(), n, s.scratch, s.pool);
    if (l.post_ffn_norm) norm_rows(s.proj.data(), l.post_ffn_norm, s.proj.data(), n, d, c.rms_eps);
    cpu::add(s.x.data(), s.proj.data(), n * d);
  }
  norm_rows(s.x.data(), w.output_norm, s.xn.data(), n, d, c.rms_eps);
  observe(-1, MatmulSite::kOutput, s.xn.data(), n, d);
  if (logits) {
    logits->resize(static_cast<size_t>(n) * c.n_vocab);
    cpu::matmul(w.output, s.xn.data(), logits->data(), n, s.scratch, s.pool);
  }
}

}  // namespace tandem::eval
