#include "model/layers/feed_forward.h"

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/vec_dot.h"

namespace tandem {
namespace {

// y = (y + bias) * scale, each when present (llama.cpp's build_ffn order).
void bias_then_scale(float* y, const float* bias, const float* scale, int64_t n) {
  if (bias) cpu::add(y, bias, n);
  if (scale) cpu::scale(y, *scale, n);
}

}  // namespace

void feed_forward(ForwardContext& ctx, int32_t layer, const FeedForwardWeights& w, Activation act, const float* xn,
                  float* out, int32_t n_rows) {
  ForwardBuffers& s = ctx.buf;
  cpu::ThreadPool& pool = ctx.pool;
  const int64_t d = w.w_gate.n_in;
  const int64_t n_ff = w.w_gate.n_out;
  if (layer >= 0) ctx.observe(layer, MatmulSite::kFfnInput, xn, n_rows, d);
  // Gate and up share their input, converted once when their types agree.
  const cpu::ConvertedActivations xf = cpu::convert_activations(w.w_gate.type, xn, d, n_rows, s.scratch, pool);
  cpu::matmul(w.w_gate, xf, s.gate.data(), pool);
  if (vec_dot_type(w.w_up.type) == xf.type) {
    cpu::matmul(w.w_up, xf, s.up.data(), pool);
  } else {
    cpu::matmul(w.w_up, xn, s.up.data(), n_rows, s.scratch, pool);
  }
  maybe_parallel(pool, n_rows, kRowGrain, [&](int64_t begin, int64_t end) {
    float* gate = s.gate.data() + begin * n_ff;
    float* up = s.up.data() + begin * n_ff;
    const int64_t count = (end - begin) * n_ff;
    if (w.b_up || w.up_s || w.b_gate || w.gate_s) {
      for (int64_t r = 0; r < end - begin; ++r) {
        bias_then_scale(up + r * n_ff, w.b_up, w.up_s, n_ff);
        bias_then_scale(gate + r * n_ff, w.b_gate, w.gate_s, n_ff);
      }
    }
    if (act == Activation::kGelu) {
      cpu::gelu_mul(gate, up, count);
    } else {
      cpu::silu_mul(gate, up, count);
    }
  });
  if (layer >= 0) ctx.observe(layer, MatmulSite::kFfnDown, s.gate.data(), n_rows, n_ff);
  cpu::matmul(w.w_down, s.gate.data(), out, n_rows, s.scratch, pool);
  if (w.b_down || w.down_s) {
    for (int64_t r = 0; r < n_rows; ++r) bias_then_scale(out + r * d, w.b_down, w.down_s, d);
  }
}

}  // namespace tandem
