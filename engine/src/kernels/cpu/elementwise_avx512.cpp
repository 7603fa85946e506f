// Elementwise kernels for CPUs with AVX-512 F/BW/VL/DQ, built with those instruction sets
// (engine/CMakeLists.txt); elementwise.cpp calls in here when active_isa_level() allows it.

#include "kernels/cpu/elementwise.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 fills unused AVX-512 lanes with self-initialised "undefined" vectors and warns at every
// inlined call (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

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

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
int64_t silu_mul_avx512(float*, const float*, int64_t) { return 0; }
}  // namespace tandem::cpu

#endif
