// attention_head for CPUs with AVX-512 F/BW/VL/DQ, built with those instruction sets
// (engine/CMakeLists.txt). The rounding steps are the reference's (attention.cpp): F16-rounded
// query times F16 key (exact in float), softmax weights rounded to F16 before meeting the values,
// the weighted sum of values accumulated in float per dimension in position order (bit-identical
// to the reference, since each product is exact), exp evaluated in double and rounded once (as
// expf, but for values within ~1e-14 of a rounding boundary). What differs: the score dot
// products are summed in float, sixteen keys at a time (the reference sums each in double). Like
// vec_dot_x86.inc, this file uses no inline code shared with baseline files.

#include "kernels/cpu/attention.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 fills unused AVX-512 lanes with self-initialised "undefined" vectors and warns at every
// inlined call (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#include <math.h>

#include "kernels/cpu/avx512_math.h"

namespace tandem::cpu {
namespace {

constexpr int kMaxHeadDim = 512;
// Value dimensions accumulated in registers at once.
constexpr int kValueBlock = 256;

inline __m512 round_to_f16(__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
inline __m512 load16_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Lane i = the sum of v[i]'s lanes, for 16 vectors: a transposing reduction tree.
inline __m512 sum16(const __m512* v) {
  __m512 w[8];
  for (int i = 0; i < 8; ++i) {
    w[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  __m512 x[4];
  for (int i = 0; i < 4; ++i) {
    x[i] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Each 128-bit lane of x[i] now holds four keys' partial sums over one quarter of the lanes.
  const __m512 z01 = _mm512_add_ps(_mm512_shuffle_f32x4(x[0], x[1], 0x88), _mm512_shuffle_f32x4(x[0], x[1], 0xDD));
  const __m512 z23 = _mm512_add_ps(_mm512_shuffle_f32x4(x[2], x[3], 0x88), _mm512_shuffle_f32x4(x[2], x[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(z01, z23, 0x88), _mm512_shuffle_f32x4(z01, z23, 0xDD));
}

inline float finish_score(float dot, const AttentionShape& shape) {
  float s = dot * shape.scale;
  if (shape.softcap > 0.0f) s = shape.softcap * tanhf(s / shape.softcap);
  return s;
}

}  // namespace

void attention_head_avx512(const float* qh, const uint16_t* k, const uint16_t* v, int32_t n_kv, int64_t kv_stride,
                           const AttentionShape& shape, float* oh, float* scores) {
  const int32_t head_dim = shape.head_dim;
  alignas(64) float q16[kMaxHeadDim];
  for (int32_t d = 0; d < head_dim; d += 16) _mm512_store_ps(q16 + d, round_to_f16(_mm512_loadu_ps(qh + d)));

  // Scores, sixteen keys at a time. Each product of the F16-rounded query and an F16 key is exact
  // in float; the products are summed in float (the reference sums in double): twice as fast,
  // and float-order noise like any other summation order.
  int32_t j = 0;
  for (; j + 16 <= n_kv; j += 16) {
    __m512 acc[16];
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
    for (int32_t d = 0; d < head_dim; d += 16) {
      const __m512 q = _mm512_load_ps(q16 + d);
      for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(q, load16_f16(k + (j + i) * kv_stride + d), acc[i]);
    }
    _mm512_storeu_ps(scores + j, _mm512_mul_ps(sum16(acc), _mm512_set1_ps(shape.scale)));
    if (shape.softcap > 0.0f) {
      for (int i = 0; i < 16; ++i) scores[j + i] = shape.softcap * tanhf(scores[j + i] / shape.softcap);
    }
  }
  for (; j < n_kv; ++j) {
    __m512 acc = _mm512_setzero_ps();
    for (int32_t d = 0; d < head_dim; d += 16) {
      acc = _mm512_fmadd_ps(_mm512_load_ps(q16 + d), load16_f16(k + j * kv_stride + d), acc);
    }
    scores[j] = finish_score(_mm512_reduce_add_ps(acc), shape);
  }

  // Softmax: exp in float, sum in double, then the weights rounded to F16.
  __m512 max16 = _mm512_set1_ps(-INFINITY);
  for (j = 0; j + 16 <= n_kv; j += 16) max16 = _mm512_max_ps(max16, _mm512_loadu_ps(scores + j));
  float max = _mm512_reduce_max_ps(max16);
  for (; j < n_kv; ++j) max = scores[j] > max ? scores[j] : max;
  __m512d sum8 = _mm512_setzero_pd();
  double sum = 0.0;
  for (j = 0; j + 16 <= n_kv; j += 16) {
    const __m512 e = avx512_math::exp_precise(_mm512_sub_ps(_mm512_loadu_ps(scores + j), _mm512_set1_ps(max)));
    _mm512_storeu_ps(scores + j, e);
    sum8 = _mm512_add_pd(sum8, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    sum8 = _mm512_add_pd(sum8, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
  }
  for (; j < n_kv; ++j) {
    const float e = scores[j] == -INFINITY ? 0.0f : expf(scores[j] - max);
    scores[j] = e;
    sum += e;
  }
  sum += _mm512_reduce_add_pd(sum8);
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / sum));
  for (j = 0; j + 16 <= n_kv; j += 16) _mm512_storeu_ps(scores + j, round_to_f16(_mm512_mul_ps(_mm512_loadu_ps(scores + j), inv)));
  for (; j < n_kv; ++j) {
    scores[j] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(scores[j] * _mm512_cvtss_f32(inv)), 0)));
  }

  // Values: each product of an F16 weight and an F16 value is exact, so the fused multiply-add
  // rounds exactly as the reference's multiply then add.
  for (int32_t d0 = 0; d0 < head_dim; d0 += kValueBlock) {
    const int32_t chunks = (head_dim - d0 < kValueBlock ? head_dim - d0 : kValueBlock) / 16;
    __m512 acc[kValueBlock / 16];
    for (int c = 0; c < chunks; ++c) acc[c] = _mm512_setzero_ps();
    for (j = 0; j < n_kv; ++j) {
      const __m512 p = _mm512_set1_ps(scores[j]);
      const uint16_t* vj = v + j * kv_stride + d0;
      for (int c = 0; c < chunks; ++c) acc[c] = _mm512_fmadd_ps(p, load16_f16(vj + 16 * c), acc[c]);
    }
    for (int c = 0; c < chunks; ++c) _mm512_storeu_ps(oh + d0 + 16 * c, acc[c]);
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
void attention_head_avx512(const float*, const uint16_t*, const uint16_t*, int32_t, int64_t, const AttentionShape&,
                           float*, float*) {}
}  // namespace tandem::cpu

#endif
