// Gated DeltaNet kernels for CPUs with AVX-512 F/DQ, built with those instruction sets
// (engine/CMakeLists.txt); delta_net.cpp calls in here when active_isa_level() allows it and the
// head widths are multiples of 16. The kernels themselves (and causal_conv1d's) are delta_net_x86.inc.

#include "kernels/cpu/delta_net.h"

#include "kernels/cpu/causal_conv1d.h"

#if defined(__x86_64__)
#include <math.h>

#include <cstdint>

#include "kernels/cpu/avx512_intrinsics.h"
#include "kernels/cpu/avx512_math.h"

namespace tandem::cpu {
namespace delta_net_avx512 {

using Vec = __m512;
constexpr int kW = 16;
constexpr int kBlk = 8;  // 2 x 8 accumulators + operands fit the 32 registers

inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vset1(float x) { return _mm512_set1_ps(x); }
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline Vec vsub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
inline Vec vmul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
inline Vec vdiv(Vec a, Vec b) { return _mm512_div_ps(a, b); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vfnmadd(Vec a, Vec b, Vec c) { return _mm512_fnmadd_ps(a, b, c); }
inline float vsum(Vec v) { return _mm512_reduce_add_ps(v); }
inline Vec vexp(Vec v) { return avx512_math::exp(v); }

// Float squares summed in double lanes (the references sum them in one double).
inline double sum_squares(const float* x, int64_t n) {
  __m512d lo = _mm512_setzero_pd();
  __m512d hi = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512d vlo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    const __m512d vhi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    lo = _mm512_fmadd_pd(vlo, vlo, lo);
    hi = _mm512_fmadd_pd(vhi, vhi, hi);
  }
  double sum = _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  for (; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

#include "kernels/cpu/delta_net_x86.inc"

}  // namespace delta_net_avx512

void delta_net_recurrent_avx512(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state) {
  delta_net_avx512::delta_net_recurrent_simd(head, n_tokens, d_k, d_v, state);
}
void delta_net_chunked_avx512(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                              int32_t chunk, float* scratch) {
  delta_net_avx512::delta_net_chunked_simd(head, n_tokens, d_k, d_v, state, chunk, scratch);
}
int64_t delta_net_chunk_scratch_avx512(int32_t chunk, int32_t d_k, int32_t d_v) {
  return delta_net_avx512::delta_net_chunk_scratch_simd(chunk, d_k, d_v);
}
void l2_norm_avx512(const float* x, float* y, int64_t n, float eps, float scale) {
  delta_net_avx512::l2_norm_simd(x, y, n, eps, scale);
}
void rms_norm_gated_avx512(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps) {
  delta_net_avx512::rms_norm_gated_simd(x, weight, z, y, n, eps);
}
void silu_avx512(float* x, int64_t n) { delta_net_avx512::silu_simd(x, n); }
void sigmoid_avx512(float* x, int64_t n) { delta_net_avx512::sigmoid_simd(x, n); }
int64_t causal_conv1d_avx512(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                          float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin, int64_t c_end) {
  return delta_net_avx512::causal_conv1d_simd(x, x_stride, n_tokens, weight, d_conv, state, n_channels, y, y_stride,
                                             c_begin, c_end);
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
void delta_net_recurrent_avx512(const DeltaNetHead&, int32_t, int32_t, int32_t, float*) {}
void delta_net_chunked_avx512(const DeltaNetHead&, int32_t, int32_t, int32_t, float*, int32_t, float*) {}
int64_t delta_net_chunk_scratch_avx512(int32_t, int32_t, int32_t) { return 0; }
void l2_norm_avx512(const float*, float*, int64_t, float, float) {}
void rms_norm_gated_avx512(const float*, const float*, const float*, float*, int64_t, float) {}
void silu_avx512(float*, int64_t) {}
void sigmoid_avx512(float*, int64_t) {}
int64_t causal_conv1d_avx512(const float*, int64_t, int32_t, const float*, int32_t, float*, int64_t, float*, int64_t,
                          int64_t c_begin, int64_t) {
  return c_begin;
}
}  // namespace tandem::cpu

#endif
