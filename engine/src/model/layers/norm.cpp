#include "model/layers/norm.h"

#include "kernels/cpu/elementwise.h"

namespace tandem {

void rms_norm_rows(ForwardContext& ctx, const float* x, const float* weight, float* y, int64_t n_rows, int64_t n) {
  const float eps = ctx.config.rms_eps;
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) cpu::rms_norm(x + r * n, weight, y + r * n, n, eps);
  };
  if (n_rows >= 2 * kRowGrain) {
    ctx.pool.parallel_for(n_rows, kRowGrain, rows);
  } else {
    rows(0, n_rows);
  }
}

void add_residual(ForwardContext& ctx, const float* y) {
  cpu::add(ctx.buf.x.data(), y, static_cast<int64_t>(ctx.n_tokens) * ctx.config.n_embd);
}

}  // namespace tandem
