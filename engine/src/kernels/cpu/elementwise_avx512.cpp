// Elementwise kernels for CPUs with AVX-512 F/BW/VL/DQ, built with those instruction sets
// (engine/CMakeLists.txt); elementwise.cpp calls in here when active_isa_level() allows it.

#include "kernels/cpu/elementwise.h"

#if defined(__x86_64__)
#include "kernels/cpu/avx512_intrinsics.h"
#include <math.h>

#include "kernels/cpu/avx512_math.h"

namespace tandem::cpu {

// silu(g) * u = g / (1 + exp(-g)) * u, the same expression as the scalar loop with a vector exp
// (within 2 ulp of expf); the scalar loop finishes the last n % 16 values.
int64_t silu_mul_avx512(float* gate, const float* up, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 g = _mm512_loadu_ps(gate + i);
    const __m512 e = avx512_math::exp(_mm512_sub_ps(_mm512_setzero_ps(), g));
    _mm512_storeu_ps(gate + i, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_loadu_ps(up + i)));
  }
  return i;
}

// The reference's arithmetic (float squares summed in double, the same scaling expression) with
// the double sum split over sixteen lanes: the reference's one serial chain of double adds took
// 3% of a small model's prompt time. The sum differs from the serial one by double rounding only.
void rms_norm_avx512(const float* x, const float* weight, float* y, int64_t n, float eps) {
  __m512d lo = _mm512_setzero_pd();
  __m512d hi = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512 squares = _mm512_mul_ps(v, v);
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(squares)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(squares, 1)));
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  for (int64_t j = i; j < n; ++j) sum += static_cast<double>(x[j] * x[j]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float inv = 1.0f / sqrtf(mean + eps);
  const __m512 inv16 = _mm512_set1_ps(inv);
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 scaled = _mm512_mul_ps(_mm512_loadu_ps(x + i), inv16);
    _mm512_storeu_ps(y + i, weight ? _mm512_mul_ps(scaled, _mm512_loadu_ps(weight + i)) : scaled);
  }
  for (; i < n; ++i) y[i] = weight ? (x[i] * inv) * weight[i] : x[i] * inv;
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
int64_t silu_mul_avx512(float*, const float*, int64_t) { return 0; }
void rms_norm_avx512(const float*, const float*, float*, int64_t, float) {}
}  // namespace tandem::cpu

#endif
