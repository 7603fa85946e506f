#pragma once
// Vector math for the AVX-512 kernel files. Include only from files built with the AVX-512 flags
// (engine/CMakeLists.txt): these inline functions must never be instantiated in baseline code.

#include <immintrin.h>

namespace tandem::cpu::avx512_math {

// exp(x) per lane: range reduction by ln 2 and Cephes' expf polynomial, within 2 ulp of expf.
// Below -103 (and for -inf) it gives 0, where expf gives 0 or a denormal; above 88.7, inf.
inline __m512 exp(__m512 x) {
  const __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-103.0f)), _mm512_set1_ps(89.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512 e = _mm512_scalef_ps(p, n);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-103.0f), _CMP_GT_OQ), e);
}

// exp(x) per lane, evaluated in double and rounded once to float: equal to a correctly rounded
// expf except where the exact value lies within ~1e-14 of a rounding boundary. For the softmax
// weights, which are rounded again to F16, where a 2-ulp error tips some F16 roundings; it costs
// little next to the rest of attention. Same range handling.
inline __m512 exp_precise(__m512 x) {
  const __m512 clamped = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-103.0f)), _mm512_set1_ps(89.0f));
  __m256 half[2] = {_mm512_castps512_ps256(clamped), _mm512_extractf32x8_ps(clamped, 1)};
  __m256 out[2];
  for (int h = 0; h < 2; ++h) {
    const __m512d xd = _mm512_cvtps_pd(half[h]);
    const __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(xd, _mm512_set1_pd(1.4426950408889634)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(0.6931471805599453), xd);
    // Taylor series to r^11 / 11!: |r| <= 0.35, so the truncation error is below 1e-14.
    __m512d p = _mm512_set1_pd(1.0 / 39916800.0);
    constexpr double kInverseFactorials[] = {1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0,
                                             1.0 / 720.0,     1.0 / 120.0,    1.0 / 24.0,    1.0 / 6.0,
                                             0.5,             1.0,            1.0};
    for (double c : kInverseFactorials) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
    out[h] = _mm512_cvtpd_ps(_mm512_scalef_pd(p, n));
  }
  const __m512 e = _mm512_insertf32x8(_mm512_castps256_ps512(out[0]), out[1], 1);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-103.0f), _CMP_GT_OQ), e);
}

}  // namespace tandem::cpu::avx512_math
