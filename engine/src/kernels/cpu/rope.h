#pragma once
// Rotary position embedding (RoFormer, arXiv:2104.09864), with the scalings llama.cpp reads from
// GGUF metadata: linear (position interpolation), YaRN (arXiv:2309.00071) and per-frequency
// factors (Llama 3.1's rope_freqs tensor).

#include <cstdint>

namespace tandem::cpu {

enum class RopeStyle {
  kNormal,  // rotates adjacent pairs (x[2i], x[2i+1]): llama
  kNeox,    // rotates halves (x[i], x[i + n_rot/2]): qwen2, qwen3, gemma
};

struct RopeParams {
  RopeStyle style = RopeStyle::kNormal;
  int32_t n_rot = 0;           // rotated dimensions per head (<= head_dim)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;     // 1 / linear scaling factor
  float ext_factor = 0.0f;     // YaRN extrapolation mix; 0 disables YaRN
  float attn_factor = 1.0f;    // YaRN magnitude scale
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  int32_t n_ctx_orig = 0;      // training context, for YaRN's correction range
  const float* freq_factors = nullptr;  // [n_rot / 2] divisors of each frequency, or null
};

// Rotates n_head heads of head_dim values each, laid out contiguously, for position pos.
void rope(float* x, int32_t n_head, int32_t head_dim, int32_t pos, const RopeParams& params);

// The two halves of rope(), for callers that rotate many vectors at one position (queries and
// keys of every layer): the rotation of each pair at `pos` (cos and sin scaled by YaRN's
// magnitude, n_rot / 2 of each), then the rotation of n_head heads by it.
void rope_angles(int32_t pos, const RopeParams& params, float* cos_theta, float* sin_theta);
void rope_rotate(float* x, int32_t n_head, int32_t head_dim, const float* cos_theta, const float* sin_theta,
                 const RopeParams& params);

}  // namespace tandem::cpu
