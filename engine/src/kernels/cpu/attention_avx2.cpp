// One query of attention_tile for CPUs with AVX2 + F16C, built with those instruction sets
// (engine/CMakeLists.txt). Same precision rules as the scalar reference in attention.cpp: the
// F16-rounded query times an F16 key is exact in float, and those products are summed in double;
// the softmax weights are rounded to F16 before meeting the values, whose weighted sum is
// accumulated in float in the reference's order (one lane per dimension, positions in sequence).
// Only the double sums associate differently. Like vec_dot_x86.inc, this file uses no inline
// code shared with baseline files.

#include "kernels/cpu/attention.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

namespace tandem::cpu {
namespace {

constexpr int kMaxHeadDim = 512;

inline __m256 round_to_f16(__m256 x) { return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
inline __m256 load8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

}  // namespace

void attention_query_avx2(const float* qh, int32_t first, int32_t n_kv, BlockedKeys k, const uint16_t* v,
                          int64_t v_stride, const AttentionShape& shape, float* oh, float* scores) {
  const int32_t head_dim = shape.head_dim;
  alignas(32) float q16[kMaxHeadDim];
  for (int32_t d = 0; d < head_dim && d < kMaxHeadDim; d += 8) {
    _mm256_store_ps(q16 + d, round_to_f16(_mm256_loadu_ps(qh + d)));
  }
  // Scores, a key block at a time: each dimension of eight keys is one vector of the block.
  float max = -INFINITY;
  for (int32_t block = first / kKeyBlock; block * kKeyBlock < n_kv; ++block) {
    const uint16_t* kb = k.base + block * k.block_stride;
    // dots[4 * c .. 4 * c + 3]: keys 4c .. 4c + 3 of the block, summed over the dimensions in order.
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (int32_t d = 0; d < head_dim; ++d) {
      const __m256 q = _mm256_broadcast_ss(q16 + d);
      for (int half = 0; half < 2; ++half) {
        const __m256 p = _mm256_mul_ps(q, load8_f16(kb + d * kKeyBlock + 8 * half));
        acc[2 * half] = _mm256_add_pd(acc[2 * half], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
        acc[2 * half + 1] = _mm256_add_pd(acc[2 * half + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
      }
    }
    alignas(32) double dots[kKeyBlock];
    for (int c = 0; c < 4; ++c) _mm256_store_pd(dots + 4 * c, acc[c]);
    for (int lane = 0; lane < kKeyBlock; ++lane) {
      const int32_t pos = block * kKeyBlock + lane;
      if (pos < first || pos >= n_kv) continue;
      float s = static_cast<float>(dots[lane]) * shape.scale;
      if (shape.softcap > 0.0f) s = shape.softcap * tanhf(s / shape.softcap);
      scores[pos - first] = s;
      max = s > max ? s : max;
    }
  }
  const int32_t n = n_kv - first;
  // Softmax as cpu::softmax computes it: exp in float, sum in double.
  double sum = 0.0;
  for (int32_t j = 0; j < n; ++j) {
    const float e = scores[j] == -INFINITY ? 0.0f : expf(scores[j] - max);
    scores[j] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  const uint16_t* v_first = v + first * v_stride;
  for (int32_t d0 = 0; d0 < head_dim; d0 += 64) {
    const int32_t width = head_dim - d0 < 64 ? head_dim - d0 : 64;
    __m256 acc[8];
    for (int c = 0; c < 8; ++c) acc[c] = _mm256_setzero_ps();
    for (int32_t j = 0; j < n; ++j) {
      const __m256 p = round_to_f16(_mm256_set1_ps(scores[j] * inv));
      const uint16_t* vj = v_first + j * v_stride + d0;
      for (int c = 0; c < width / 8; ++c) acc[c] = _mm256_add_ps(acc[c], _mm256_mul_ps(p, load8_f16(vj + 8 * c)));
    }
    for (int c = 0; c < width / 8; ++c) _mm256_storeu_ps(oh + d0 + 8 * c, acc[c]);
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
void attention_query_avx2(const float*, int32_t, int32_t, BlockedKeys, const uint16_t*, int64_t,
                          const AttentionShape&, float*, float*) {}
}  // namespace tandem::cpu

#endif
