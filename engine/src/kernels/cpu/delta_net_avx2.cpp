// Gated DeltaNet kernels for CPUs with AVX2 + FMA, built with those instruction sets
// (engine/CMakeLists.txt); delta_net.cpp calls in here when active_isa_level() allows it and the
// head widths are multiples of 8. The kernels themselves are delta_net_x86.inc.

#include "kernels/cpu/delta_net.h"

#include "kernels/cpu/causal_conv1d.h"

#if defined(__x86_64__)
#include <math.h>

#include <cstdint>

#include <immintrin.h>

namespace tandem::cpu {
namespace delta_net_avx2 {

using Vec = __m256;
constexpr int kW = 8;
constexpr int kBlk = 4;  // 2 x 4 accumulators + operands fit the 16 registers

inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vset1(float x) { return _mm256_set1_ps(x); }
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline Vec vsub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
inline Vec vmul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
inline Vec vdiv(Vec a, Vec b) { return _mm256_div_ps(a, b); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vfnmadd(Vec a, Vec b, Vec c) { return _mm256_fnmadd_ps(a, b, c); }
inline float vsum(Vec v) {
  const __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 hi = _mm_movehl_ps(lo, lo);
  const __m128 s = _mm_add_ps(lo, hi);
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// exp(x) per lane, the same range reduction and Cephes polynomial as avx512_math::exp; 2^n is
// built in the exponent bits, so inputs are clamped to where n stays a normal exponent: below
// -87.3 gives 0 (expf gives a denormal there), above 88.7 inf.
inline Vec vexp(Vec x) {
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), clamped);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 e = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
  const __m256 zeroed = _mm256_and_ps(e, _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_GE_OQ));
  return _mm256_blendv_ps(zeroed, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(88.7f), _CMP_GT_OQ));
}

// Float squares summed in double lanes (the references sum them in one double).
inline double sum_squares(const float* x, int64_t n) {
  __m256d lo = _mm256_setzero_pd();
  __m256d hi = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256d vlo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d vhi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    lo = _mm256_fmadd_pd(vlo, vlo, lo);
    hi = _mm256_fmadd_pd(vhi, vhi, hi);
  }
  const __m256d s = _mm256_add_pd(lo, hi);
  const __m128d s2 = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  double sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
  for (; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

#include "kernels/cpu/delta_net_x86.inc"

}  // namespace delta_net_avx2

void delta_net_recurrent_avx2(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state) {
  delta_net_avx2::delta_net_recurrent_simd(head, n_tokens, d_k, d_v, state);
}
void delta_net_chunked_avx2(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                              int32_t chunk, float* scratch) {
  delta_net_avx2::delta_net_chunked_simd(head, n_tokens, d_k, d_v, state, chunk, scratch);
}
int64_t delta_net_chunk_scratch_avx2(int32_t chunk, int32_t d_k, int32_t d_v) {
  return delta_net_avx2::delta_net_chunk_scratch_simd(chunk, d_k, d_v);
}
void l2_norm_avx2(const float* x, float* y, int64_t n, float eps, float scale) {
  delta_net_avx2::l2_norm_simd(x, y, n, eps, scale);
}
void rms_norm_gated_avx2(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps) {
  delta_net_avx2::rms_norm_gated_simd(x, weight, z, y, n, eps);
}
void silu_avx2(float* x, int64_t n) { delta_net_avx2::silu_simd(x, n); }
void sigmoid_avx2(float* x, int64_t n) { delta_net_avx2::sigmoid_simd(x, n); }
int64_t causal_conv1d_avx2(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                          float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin, int64_t c_end) {
  return delta_net_avx2::causal_conv1d_simd(x, x_stride, n_tokens, weight, d_conv, state, n_channels, y, y_stride,
                                             c_begin, c_end);
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
void delta_net_recurrent_avx2(const DeltaNetHead&, int32_t, int32_t, int32_t, float*) {}
void delta_net_chunked_avx2(const DeltaNetHead&, int32_t, int32_t, int32_t, float*, int32_t, float*) {}
int64_t delta_net_chunk_scratch_avx2(int32_t, int32_t, int32_t) { return 0; }
void l2_norm_avx2(const float*, float*, int64_t, float, float) {}
void rms_norm_gated_avx2(const float*, const float*, const float*, float*, int64_t, float) {}
void silu_avx2(float*, int64_t) {}
void sigmoid_avx2(float*, int64_t) {}
int64_t causal_conv1d_avx2(const float*, int64_t, int32_t, const float*, int32_t, float*, int64_t, float*, int64_t,
                          int64_t c_begin, int64_t) {
  return c_begin;
}
}  // namespace tandem::cpu

#endif
