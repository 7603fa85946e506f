#include "model/layers/moe.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/cpu/vec_dot.h"

namespace tandem {
namespace {

// Picks the n_used largest of probs[n_expert] in descending order, ties to the lower index, into
// ids; weights get their probabilities, renormalised and scaled as routing says (as llama.cpp's
// build_moe_ffn: the sum is clamped below at F16's smallest normal before dividing).
void route_token(const float* probs, const MoeRouting& routing, int32_t* ids, float* weights) {
  const int32_t n_used = routing.n_expert_used;
  for (int32_t k = 0; k < n_used; ++k) {
    int32_t best = -1;
    for (int32_t e = 0; e < routing.n_expert; ++e) {
      bool taken = false;
      for (int32_t j = 0; j < k && !taken; ++j) taken = ids[j] == e;
      if (!taken && (best < 0 || probs[e] > probs[best])) best = e;
    }
    ids[k] = best;
    weights[k] = probs[best];
  }
  if (routing.norm_top_k) {
    double sum = 0.0;  // ggml's row sums accumulate in double
    for (int32_t k = 0; k < n_used; ++k) sum += weights[k];
    const float total = std::max(static_cast<float>(sum), 6.103515625e-5f);
    for (int32_t k = 0; k < n_used; ++k) weights[k] /= total;
  }
  if (routing.weights_scale != 0.0f && routing.weights_scale != 1.0f) {
    for (int32_t k = 0; k < n_used; ++k) weights[k] *= routing.weights_scale;
  }
}

// Rows of a matrix per task: packed groups stay whole (16 rows covers both group sizes).
constexpr int64_t kBlockAlign = 16;

// The product of rows [o0, o1) of w with a's rows, written at y + r * y_stride + (o - o0) for
// row r and output o. One thread: it is one task among the experts' tasks.
void matmul_block(const cpu::WeightMatrix& w, const cpu::ConvertedActivations& a, int64_t o0, int64_t o1, float* y,
                  int64_t y_stride, std::vector<float>& tmp) {
  cpu::ThreadPool single(1);  // runs on the calling thread; starts nothing
  if (o0 == 0 && o1 == w.n_out && y_stride == w.n_out) {
    cpu::matmul(w, a, y, single);
    return;
  }
  cpu::WeightMatrix sub = w;
  sub.data = w.data + static_cast<size_t>(o0) * w.row_bytes;
  sub.n_out = o1 - o0;
  if (w.packed) {
    const int64_t group = cpu::packed_group_rows(w.type);
    sub.packed = w.packed + static_cast<size_t>(o0 / group) * cpu::packed_group_bytes(w.type, w.n_in);
  }
  const size_t need = static_cast<size_t>(a.n_tokens * sub.n_out);
  if (tmp.size() < need) tmp.resize(need);  // grows to the largest block once
  cpu::matmul(sub, a, tmp.data(), single);
  for (int64_t r = 0; r < a.n_tokens; ++r) std::copy_n(tmp.data() + r * sub.n_out, sub.n_out, y + r * y_stride);
}

// Tokens whose down outputs, all columns, expert_out holds (see size_moe_buffers).
constexpr int64_t kExpertOutTokens = 64;

// Splits [0, n_rows) into about `blocks` ranges aligned to kBlockAlign.
int64_t block_rows(int64_t n_rows, int64_t blocks) {
  if (blocks <= 1 || n_rows % kBlockAlign != 0) return n_rows;
  const int64_t rows = (n_rows / blocks + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  return std::max(kBlockAlign * 4, rows);
}

}  // namespace

void size_moe_buffers(ForwardBuffers& buf, const ModelConfig& c, int32_t max_tokens) {
  const size_t tokens = static_cast<size_t>(max_tokens);
  const size_t slots = tokens * static_cast<size_t>(c.n_expert_used);
  buf.router.resize(tokens * static_cast<size_t>(c.n_expert));
  buf.expert_ids.resize(slots);
  buf.expert_weights.resize(slots);
  buf.expert_tokens.resize(slots);
  buf.expert_slots.resize(slots);
  buf.expert_begin.resize(static_cast<size_t>(c.n_expert) + 1);
  buf.expert_cursor.resize(static_cast<size_t>(c.n_expert));
  buf.expert_list.resize(static_cast<size_t>(c.n_expert));
  // Down's outputs of every slot for all n_embd columns when up to kExpertOutTokens tokens run;
  // larger batches take the columns in passes (a 512-token prompt of Qwen3-Next held 42 MB here).
  const size_t out_tokens = std::min(tokens, static_cast<size_t>(kExpertOutTokens));
  buf.expert_out.resize(out_tokens * static_cast<size_t>(c.n_expert_used) * static_cast<size_t>(c.n_embd));
  if (c.n_ff_shexp > 0) {
    buf.shared_gate.resize(tokens);
    buf.shared_out.resize(tokens * static_cast<size_t>(c.n_embd));
  }
  // Every slot's gated rows of its expert live in buf.gate; up's rows of an expert only in its
  // task's scratch. buf.gate and buf.up also serve the shared expert (grown in moe_feed_forward
  // when the file gives no shared width but has one, as Qwen2-MoE's may).
  const size_t widest = std::max(static_cast<size_t>(c.n_ff_exp) * c.n_expert_used, static_cast<size_t>(c.n_ff_shexp));
  buf.gate.resize(tokens * widest);
  buf.up.resize(tokens * static_cast<size_t>(c.n_ff_shexp));
}

void moe_feed_forward(ForwardContext& ctx, int32_t il, const MoeWeights& w, const MoeRouting& routing,
                      const float* xn, float* out) {
  ForwardBuffers& s = ctx.buf;
  cpu::ThreadPool& pool = ctx.pool;
  const int32_t n = ctx.n_tokens;
  const int64_t d = w.gate_inp.n_in;
  const int32_t n_expert = routing.n_expert;
  const int32_t n_used = routing.n_expert_used;
  TANDEM_CHECK(n_used > 0 && n_used <= n_expert && s.router.size() >= static_cast<size_t>(n) * n_expert);
  ctx.observe(il, MatmulSite::kFfnInput, xn, n, d);

  // Router: logits, softmax, top-k per token.
  cpu::matmul(w.gate_inp, xn, s.router.data(), n, s.scratch, pool);
  maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* probs = s.router.data() + t * n_expert;
      cpu::softmax(probs, n_expert);
      route_token(probs, routing, s.expert_ids.data() + t * n_used, s.expert_weights.data() + t * n_used);
    }
  });

  // Group the (token, choice) slots by expert, tokens in batch order within each group:
  // expert_tokens[p] is the token of group row p, expert_slots[t * n_used + k] its row p.
  std::fill(s.expert_begin.begin(), s.expert_begin.end(), 0);
  const int32_t n_slots = n * n_used;
  for (int32_t i = 0; i < n_slots; ++i) ++s.expert_begin[static_cast<size_t>(s.expert_ids[static_cast<size_t>(i)]) + 1];
  for (int32_t e = 0; e < n_expert; ++e) s.expert_begin[static_cast<size_t>(e) + 1] += s.expert_begin[static_cast<size_t>(e)];
  std::copy(s.expert_begin.begin(), s.expert_begin.end() - 1, s.expert_cursor.begin());
  for (int32_t i = 0; i < n_slots; ++i) {
    const int32_t e = s.expert_ids[static_cast<size_t>(i)];
    const int32_t p = s.expert_cursor[static_cast<size_t>(e)]++;
    s.expert_tokens[static_cast<size_t>(p)] = i / n_used;
    s.expert_slots[static_cast<size_t>(i)] = p;
  }
  // The experts some token chose; the others are never read.
  int32_t n_active = 0;
  for (int32_t e = 0; e < n_expert; ++e) {
    if (s.expert_begin[static_cast<size_t>(e) + 1] > s.expert_begin[static_cast<size_t>(e)]) {
      s.expert_list[static_cast<size_t>(n_active++)] = e;
    }
  }

  // Each token's input converted once for the experts' type (up's too when it differs); each
  // task gathers its expert's rows from it.
  const int64_t n_ff = w.gate_exps[0].n_out;
  const bool up_differs = vec_dot_type(w.up_exps[0].type) != vec_dot_type(w.gate_exps[0].type);
  cpu::ConvertedActivations in_all = cpu::convert_activations(w.gate_exps[0].type, xn, d, n, s.scratch, pool);
  if (up_differs) {
    // The scratch is about to hold up's conversion: gate's moves out first.
    const size_t bytes = in_all.row_stride * static_cast<size_t>(n);
    if (s.expert_in_q.size() < bytes) s.expert_in_q.resize(bytes);
    std::copy_n(in_all.data, bytes, s.expert_in_q.data());
    in_all.data = s.expert_in_q.data();
  }
  const cpu::ConvertedActivations up_all =
      up_differs ? cpu::convert_activations(w.up_exps[0].type, xn, d, n, s.scratch, pool) : in_all;
  auto gather = [&](const cpu::ConvertedActivations& all, int32_t e, std::vector<uint8_t>& rows) {
    const int32_t p0 = s.expert_begin[static_cast<size_t>(e)];
    const int32_t count = s.expert_begin[static_cast<size_t>(e) + 1] - p0;
    if (rows.size() < all.row_stride * static_cast<size_t>(count)) rows.resize(all.row_stride * static_cast<size_t>(count));
    for (int32_t r = 0; r < count; ++r) {
      std::copy_n(all.data + static_cast<size_t>(s.expert_tokens[static_cast<size_t>(p0 + r)]) * all.row_stride,
                  all.row_stride, rows.data() + static_cast<size_t>(r) * all.row_stride);
    }
    return cpu::ConvertedActivations{all.type, rows.data(), all.row_stride, count, all.n_in};
  };
  auto rows_of = [&](const cpu::ConvertedActivations& all, int32_t e) {
    cpu::ConvertedActivations a = all;
    const int32_t p0 = s.expert_begin[static_cast<size_t>(e)];
    a.data = all.data + static_cast<size_t>(p0) * all.row_stride;
    a.n_tokens = s.expert_begin[static_cast<size_t>(e) + 1] - p0;
    return a;
  };

  // Tasks are (expert, block of output rows); with few experts each is cut into blocks so that
  // every thread has work, with many each expert is one task on one thread. One dispatch for
  // gate, up and the activation of all experts, one for down (per pass of columns).
  const int64_t want_blocks = (2 * pool.size() + n_active - 1) / n_active;
  if (s.expert_task.size() < static_cast<size_t>(pool.size())) s.expert_task.resize(static_cast<size_t>(pool.size()));
  {
    const int64_t rows = block_rows(n_ff, want_blocks);
    const int64_t blocks = (n_ff + rows - 1) / rows;
    pool.parallel_for_indexed(n_active * blocks, 1, [&](int64_t begin, int64_t end, int thread) {
      ForwardBuffers::ExpertTaskScratch& ts = s.expert_task[static_cast<size_t>(thread)];
      for (int64_t task = begin; task < end; ++task) {
        const int32_t e = s.expert_list[static_cast<size_t>(task / blocks)];
        const int64_t o0 = (task % blocks) * rows;
        const int64_t o1 = std::min(n_ff, o0 + rows);
        const int64_t width = o1 - o0;
        const cpu::ConvertedActivations a = gather(in_all, e, ts.in);
        const int64_t p0 = s.expert_begin[static_cast<size_t>(e)];
        if (ts.up.size() < static_cast<size_t>(a.n_tokens * width)) ts.up.resize(static_cast<size_t>(a.n_tokens * width));
        float* gate = s.gate.data() + p0 * n_ff + o0;
        float* up = ts.up.data();
        matmul_block(w.gate_exps[static_cast<size_t>(e)], a, o0, o1, gate, n_ff, ts.tmp);
        matmul_block(w.up_exps[static_cast<size_t>(e)], up_differs ? gather(up_all, e, ts.in_up) : a, o0, o1, up,
                     width, ts.tmp);
        for (int64_t r = 0; r < a.n_tokens; ++r) {
          if (w.gate_exps_s) cpu::scale(gate + r * n_ff, w.gate_exps_s[e], width);
          if (w.up_exps_s) cpu::scale(up + r * width, w.up_exps_s[e], width);
          if (routing.act == Activation::kGelu) {
            cpu::gelu_mul(gate + r * n_ff, up + r * width, width);
          } else {
            cpu::silu_mul(gate + r * n_ff, up + r * width, width);
          }
        }
      }
    });
  }
  if (ctx.observer) {
    // Tools only (imatrix): each expert's input rows in float, and its gated rows below.
    for (int32_t i = 0; i < n_active; ++i) {
      const int32_t e = s.expert_list[static_cast<size_t>(i)];
      const int32_t p0 = s.expert_begin[static_cast<size_t>(e)];
      const int32_t count = s.expert_begin[static_cast<size_t>(e) + 1] - p0;
      s.expert_observed.resize(static_cast<size_t>(count) * static_cast<size_t>(d));
      for (int32_t r = 0; r < count; ++r) {
        const int32_t t = s.expert_tokens[static_cast<size_t>(p0 + r)];
        std::copy_n(xn + static_cast<int64_t>(t) * d, d, s.expert_observed.data() + static_cast<int64_t>(r) * d);
      }
      ctx.observe_expert(il, MatmulSite::kFfnInput, e, n_expert, s.expert_observed.data(), count, d);
    }
    for (int32_t i = 0; i < n_active; ++i) {
      const int32_t e = s.expert_list[static_cast<size_t>(i)];
      const int32_t p0 = s.expert_begin[static_cast<size_t>(e)];
      const int32_t count = s.expert_begin[static_cast<size_t>(e) + 1] - p0;
      ctx.observe_expert(il, MatmulSite::kFfnDown, e, n_expert, s.gate.data() + static_cast<int64_t>(p0) * n_ff, count,
                         n_ff);
    }
  }

  // Down, then each token's weighted sum of its experts in the order of its choice, a pass of
  // columns at a time: all n_embd of them when the slots' outputs fit expert_out, else as many
  // as do (aligned to packed groups). The same products and sums either way.
  const cpu::WeightMatrix& down0 = w.down_exps[0];
  const cpu::ConvertedActivations hq = cpu::convert_activations(down0.type, s.gate.data(), n_ff, n_slots, s.scratch, pool);
  int64_t cols = d;
  if (static_cast<size_t>(n_slots) * static_cast<size_t>(d) > s.expert_out.size() && d % kBlockAlign == 0) {
    const int64_t fit = static_cast<int64_t>(s.expert_out.size()) / n_slots / kBlockAlign * kBlockAlign;
    cols = std::clamp<int64_t>(fit, kBlockAlign, d);
  }
  if (s.expert_out.size() < static_cast<size_t>(n_slots) * static_cast<size_t>(cols)) {
    s.expert_out.resize(static_cast<size_t>(n_slots) * static_cast<size_t>(cols));
  }
  for (int64_t c0 = 0; c0 < d; c0 += cols) {
    const int64_t c1 = std::min(d, c0 + cols);
    const int64_t pass = c1 - c0;
    const int64_t rows = block_rows(pass, want_blocks);
    const int64_t blocks = (pass + rows - 1) / rows;
    pool.parallel_for_indexed(n_active * blocks, 1, [&](int64_t begin, int64_t end, int thread) {
      for (int64_t task = begin; task < end; ++task) {
        const int32_t e = s.expert_list[static_cast<size_t>(task / blocks)];
        const int64_t o0 = c0 + (task % blocks) * rows;
        const int64_t o1 = std::min(c1, o0 + rows);
        const int64_t p0 = s.expert_begin[static_cast<size_t>(e)];
        const cpu::ConvertedActivations a = rows_of(hq, e);
        float* y = s.expert_out.data() + p0 * pass + (o0 - c0);
        matmul_block(w.down_exps[static_cast<size_t>(e)], a, o0, o1, y, pass,
                     s.expert_task[static_cast<size_t>(thread)].tmp);
        if (w.down_exps_s) {
          for (int64_t r = 0; r < a.n_tokens; ++r) cpu::scale(y + r * pass, w.down_exps_s[e], o1 - o0);
        }
      }
    });
    maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        float* y = out + t * d + c0;
        for (int32_t k = 0; k < n_used; ++k) {
          const int64_t slot = t * n_used + k;
          const float wk = s.expert_weights[static_cast<size_t>(slot)];
          const float* e = s.expert_out.data() + static_cast<int64_t>(s.expert_slots[static_cast<size_t>(slot)]) * pass;
          if (k == 0) {
            for (int64_t i = 0; i < pass; ++i) y[i] = e[i] * wk;
          } else {
            for (int64_t i = 0; i < pass; ++i) y[i] += e[i] * wk;
          }
        }
      }
    });
  }

  // The shared expert, which every token runs, scaled by sigmoid of its own gate.
  if (w.shexp.w_gate.data) {
    // Sized at the start when the file gives the shared expert's width, else here once.
    if (s.shared_out.size() < static_cast<size_t>(n) * static_cast<size_t>(d)) {
      s.shared_out.resize(static_cast<size_t>(n) * static_cast<size_t>(d));
      s.shared_gate.resize(static_cast<size_t>(n));
    }
    const size_t shared_rows = static_cast<size_t>(n) * static_cast<size_t>(w.shexp.w_gate.n_out);
    if (s.gate.size() < shared_rows) s.gate.resize(shared_rows);
    if (s.up.size() < shared_rows) s.up.resize(shared_rows);
    float* shared = s.shared_out.data();
    feed_forward(ctx, -1, w.shexp, routing.act, xn, shared, n);
    if (w.gate_inp_shexp.data) cpu::matmul(w.gate_inp_shexp, xn, s.shared_gate.data(), n, s.scratch, pool);
    for (int32_t t = 0; t < n; ++t) {
      const float g = w.gate_inp_shexp.data ? 1.0f / (1.0f + std::exp(-s.shared_gate[static_cast<size_t>(t)])) : 1.0f;
      float* y = out + static_cast<int64_t>(t) * d;
      const float* sh = shared + static_cast<int64_t>(t) * d;
      for (int64_t i = 0; i < d; ++i) y[i] += sh[i] * g;
    }
  }
}

}  // namespace tandem
