#include "kernels/cpu/elementwise.h"

#include <cmath>

#include "kernels/cpu/cpu_features.h"
#include "quant/fp16.h"

namespace tandem::cpu {

void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps) {
  if (active_isa_level() >= IsaLevel::kAvx512Vnni) {
    rms_norm_avx512(x, weight, y, n, eps);
    return;
  }
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float inv = 1.0f / std::sqrt(mean + eps);
  if (weight) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * inv) * weight[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv;
  }
}

void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void silu_mul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  if (active_isa_level() >= IsaLevel::kAvx512Vnni) i = silu_mul_avx512(gate, up, n);
  for (; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void gelu_mul(float* gate, const float* up, int64_t n) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoef = 0.044715f;
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    if (g <= -10.0f) {
      gate[i] = 0.0f;
    } else if (g >= 10.0f) {
      gate[i] = g * up[i];
    } else {
      // F16 in, F16 out, as llama.cpp's table-driven GELU computes it.
      const float x = fp16_to_fp32(fp32_to_fp16(g));
      const float gelu = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
      gate[i] = fp16_to_fp32(fp32_to_fp16(gelu)) * up[i];
    }
  }
}

void scale(float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void softmax(float* x, int64_t n) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = x[i] == -INFINITY ? 0.0f : std::exp(x[i] - max);
    x[i] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace tandem::cpu
