#include "kernels/cpu/causal_conv1d.h"

#include "core/check.h"
#include "kernels/cpu/cpu_features.h"

namespace tandem::cpu {

void causal_conv1d(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                   float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin, int64_t c_end) {
  TANDEM_CHECK(d_conv >= 1 && n_tokens >= 0 && c_begin >= 0 && c_end <= n_channels);
  int64_t c = c_begin;
  switch (active_isa_level()) {
    case IsaLevel::kAvx512Vnni:
      c = causal_conv1d_avx512(x, x_stride, n_tokens, weight, d_conv, state, n_channels, y, y_stride, c_begin, c_end);
      break;
    case IsaLevel::kAvx2:
      c = causal_conv1d_avx2(x, x_stride, n_tokens, weight, d_conv, state, n_channels, y, y_stride, c_begin, c_end);
      break;
    case IsaLevel::kScalar: break;
  }
  if (c < c_end) causal_conv1d_scalar(x, x_stride, n_tokens, weight, d_conv, state, n_channels, y, y_stride, c, c_end);
}

void causal_conv1d_scalar(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                          float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin,
                          int64_t c_end) {
  TANDEM_CHECK(d_conv >= 1 && n_tokens >= 0 && c_begin >= 0 && c_end <= n_channels);
  const int32_t n_state = d_conv - 1;
  // Input i of the window ending at token t is token t - n_state + i: from the state while that
  // is negative. The sum runs oldest first in float, as ggml_ssm_conv does.
  auto input = [&](int32_t u, int64_t c) -> float {
    return u < 0 ? state[static_cast<int64_t>(n_state + u) * n_channels + c] : x[u * x_stride + c];
  };
  for (int32_t t = 0; t < n_tokens; ++t) {
    float* yt = y + t * y_stride;
    for (int64_t c = c_begin; c < c_end; ++c) {
      const float* w = weight + c * d_conv;
      float sum = 0.0f;
      for (int32_t i = 0; i < d_conv; ++i) sum += input(t - n_state + i, c) * w[i];
      yt[c] = sum;
    }
  }
  // Roll the state forward: its rows become the last n_state inputs. Row r is input u = n_tokens
  // - n_state + r; rows still coming from the old state move down, so go oldest first.
  for (int32_t r = 0; r < n_state; ++r) {
    const int32_t u = n_tokens - n_state + r;
    float* dst = state + static_cast<int64_t>(r) * n_channels;
    for (int64_t c = c_begin; c < c_end; ++c) dst[c] = input(u, c);
  }
}

}  // namespace tandem::cpu
