// attention_head for CPUs with AVX2 + F16C, built with those instruction sets (engine/CMakeLists.txt).
// Same precision rules as the scalar reference in attention.cpp: the F16-rounded query times an F16
// key is exact in float, and those products are summed in double; the softmax weights are rounded
// to F16 before meeting the values, whose weighted sum is accumulated in float in the reference's
// order (one lane per dimension, positions in sequence). Only the double sums associate
// differently. Like vec_dot_x86.inc, this file uses no inline code shared with baseline files.

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

void attention_head_avx2(const float* qh, const uint16_t* k, const uint16_t* v, int32_t n_kv, int64_t kv_stride,
                         const AttentionShape& shape, float* oh, float* scores) {
  const int32_t head_dim = shape.head_dim;
  alignas(32) float q16[kMaxHeadDim];
  for (int32_t d = 0; d < head_dim && d < kMaxHeadDim; d += 8) {
    _mm256_store_ps(q16 + d, round_to_f16(_mm256_loadu_ps(qh + d)));
  }
  float max = -INFINITY;
  for (int32_t j = 0; j < n_kv; ++j) {
    const uint16_t* kj = k + j * kv_stride;
    __m256d acc0 = _mm256_setzero_pd();
    __m256d acc1 = _mm256_setzero_pd();
    for (int32_t d = 0; d < head_dim; d += 8) {
      const __m256 p = _mm256_mul_ps(_mm256_load_ps(q16 + d), load8_f16(kj + d));
      acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
      acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
    }
    const __m256d acc = _mm256_add_pd(acc0, acc1);
    const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    const double dot = _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
    float s = static_cast<float>(dot) * shape.scale;
    if (shape.softcap > 0.0f) s = shape.softcap * tanhf(s / shape.softcap);
    scores[j] = s;
    max = s > max ? s : max;
  }
  // Softmax as cpu::softmax computes it: exp in float, sum in double.
  double sum = 0.0;
  for (int32_t j = 0; j < n_kv; ++j) {
    const float e = scores[j] == -INFINITY ? 0.0f : expf(scores[j] - max);
    scores[j] = e;
    sum += e;
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int32_t d0 = 0; d0 < head_dim; d0 += 64) {
    const int32_t width = head_dim - d0 < 64 ? head_dim - d0 : 64;
    __m256 acc[8];
    for (int c = 0; c < 8; ++c) acc[c] = _mm256_setzero_ps();
    for (int32_t j = 0; j < n_kv; ++j) {
      const __m256 p = round_to_f16(_mm256_set1_ps(scores[j] * inv));
      const uint16_t* vj = v + j * kv_stride + d0;
      for (int c = 0; c < width / 8; ++c) acc[c] = _mm256_add_ps(acc[c], _mm256_mul_ps(p, load8_f16(vj + 8 * c)));
    }
    for (int c = 0; c < width / 8; ++c) _mm256_storeu_ps(oh + d0 + 8 * c, acc[c]);
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
void attention_head_avx2(const float*, const uint16_t*, const uint16_t*, int32_t, int64_t, const AttentionShape&,
                         float*, float*) {}
}  // namespace tandem::cpu

#endif
