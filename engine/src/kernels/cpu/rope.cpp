#include "kernels/cpu/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tandem::cpu {
namespace {

// Dimension index at which a frequency makes n_rotations turns over the original context.
float yarn_corr_dim(int32_t n_rot, int32_t n_ctx_orig, float n_rotations, float base) {
  return static_cast<float>(n_rot) * std::log(static_cast<float>(n_ctx_orig) / (n_rotations * 2.0f * static_cast<float>(M_PI))) /
         (2.0f * std::log(base));
}

float yarn_ramp(float low, float high, int32_t i0) {
  const float y = (static_cast<float>(i0) / 2.0f - low) / std::max(0.001f, high - low);
  return 1.0f - std::min(1.0f, std::max(0.0f, y));
}

}  // namespace

void rope_angles(int32_t pos, const RopeParams& p, float* cos_theta, float* sin_theta) {
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float corr_low = 0.0f;
  float corr_high = 0.0f;
  if (p.ext_factor != 0.0f) {
    corr_low = std::max(0.0f, std::floor(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_fast, p.freq_base)));
    corr_high = std::min(static_cast<float>(p.n_rot - 1),
                         std::ceil(yarn_corr_dim(p.n_rot, p.n_ctx_orig, p.beta_slow, p.freq_base)));
  }
  // theta_i = pos * base^(-2i/n_rot), computed by repeated multiplication as ggml does.
  float theta_extrap = static_cast<float>(pos);
  for (int32_t i = 0; i < p.n_rot / 2; ++i) {
    const float factor = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float extrap = theta_extrap / factor;
    const float interp = p.freq_scale * extrap;
    float theta = interp;
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) {
      const float mix = yarn_ramp(corr_low, corr_high, 2 * i) * p.ext_factor;
      theta = interp * (1.0f - mix) + extrap * mix;
      mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);
    }
    cos_theta[i] = std::cos(theta) * mscale;
    sin_theta[i] = std::sin(theta) * mscale;
    theta_extrap *= theta_scale;
  }
}

void rope_rotate(float* x, int32_t n_head, int32_t head_dim, const float* cos_theta, const float* sin_theta,
                 const RopeParams& p) {
  const int32_t half = p.n_rot / 2;
  for (int32_t h = 0; h < n_head; ++h) {
    float* head = x + static_cast<int64_t>(h) * head_dim;
    for (int32_t i = 0; i < half; ++i) {
      const int32_t a = p.style == RopeStyle::kNormal ? 2 * i : i;
      const int32_t b = p.style == RopeStyle::kNormal ? 2 * i + 1 : i + half;
      const float x0 = head[a];
      const float x1 = head[b];
      head[a] = x0 * cos_theta[i] - x1 * sin_theta[i];
      head[b] = x0 * sin_theta[i] + x1 * cos_theta[i];
    }
  }
}

void rope(float* x, int32_t n_head, int32_t head_dim, int32_t pos, const RopeParams& p) {
  // On the stack for every real head size; a heap fallback keeps odd files working.
  constexpr int32_t kStackPairs = 512;
  float cos_stack[kStackPairs];
  float sin_stack[kStackPairs];
  std::vector<float> heap;
  float* cos_theta = cos_stack;
  float* sin_theta = sin_stack;
  if (p.n_rot / 2 > kStackPairs) {
    heap.resize(static_cast<size_t>(p.n_rot / 2) * 2);
    cos_theta = heap.data();
    sin_theta = heap.data() + p.n_rot / 2;
  }
  rope_angles(pos, p, cos_theta, sin_theta);
  rope_rotate(x, n_head, head_dim, cos_theta, sin_theta, p);
}

}  // namespace tandem::cpu
