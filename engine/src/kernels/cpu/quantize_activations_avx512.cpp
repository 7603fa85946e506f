// quantize_activations for CPUs with AVX-512 F/BW/VL/DQ, built with those instruction sets
// (engine/CMakeLists.txt). Bit-identical to the scalar versions (tested): the absolute maximum is
// exact, the scale is the same float expression, and the vector conversion rounds to nearest even
// as nearest_int does for these magnitudes. Like vec_dot_x86.inc, this file shares no inline code
// with baseline files.

#include <cstdint>
#include <cstring>

#include "quant/block_layouts.h"
#include "quant/ggml_type.h"

#if defined(__x86_64__)
#include "kernels/cpu/avx512_intrinsics.h"

namespace tandem::cpu {
namespace {

inline __m512 abs_ps(__m512 v) { return _mm512_abs_ps(v); }

// 32 floats to int8 at scale id; returns the sum of the quants.
inline int quantize32(const float* x, float id, int8_t* qs) {
  const __m512 scale = _mm512_set1_ps(id);
  const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), scale));
  const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), scale));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(q1));
  return _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}

inline uint16_t to_half(float f) { return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }

// Q8_0 / Q8_1 blocks: d = amax / 127, quants at 127 / amax (see quantize_activations.h).
template <typename Block, bool kWithSum>
void quantize_q8(const float* x, Block* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK) {
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_ps(_mm512_loadu_ps(x)), abs_ps(_mm512_loadu_ps(x + 16))));
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const int sum = quantize32(x, id, y[b].qs);
    y[b].d = to_half(d);
    if constexpr (kWithSum) y[b].s = to_half(d * static_cast<float>(sum));
  }
}

// Q8_K: the value of largest magnitude (the first one, as the reference scans) sets the scale.
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
    __m512 amax = _mm512_setzero_ps();
    for (int j = 0; j < kQK_K; j += 16) amax = _mm512_max_ps(amax, abs_ps(_mm512_loadu_ps(x + j)));
    const float a = _mm512_reduce_max_ps(amax);
    if (a == 0.0f) {
      std::memset(&y[i], 0, sizeof(y[i]));
      continue;
    }
    float max = 0.0f;
    for (int j = 0; j < kQK_K; ++j) {
      if (x[j] == a || x[j] == -a) {
        max = x[j];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m512 scale = _mm512_set1_ps(iscale);
    for (int g = 0; g < kQK_K / 16; ++g) {
      const __m512i q = _mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), scale)),
                                         _mm512_set1_epi32(127));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y[i].qs + 16 * g), _mm512_cvtsepi32_epi8(q));
      y[i].bsums[g] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
    y[i].d = 1 / iscale;
  }
}

}  // namespace

bool quantize_activations_avx512(GgmlType type, const float* x, void* dst, int64_t n) {
  switch (type) {
    case GgmlType::Q8_0:
      quantize_q8<BlockQ8_0, false>(x, static_cast<BlockQ8_0*>(dst), n / kQK);
      return true;
    case GgmlType::Q8_1:
      quantize_q8<BlockQ8_1, true>(x, static_cast<BlockQ8_1*>(dst), n / kQK);
      return true;
    case GgmlType::Q8_K:
      quantize_q8_k(x, static_cast<BlockQ8_K*>(dst), n / kQK_K);
      return true;
    default:
      return false;
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
bool quantize_activations_avx512(GgmlType, const float*, void*, int64_t) { return false; }
}  // namespace tandem::cpu

#endif
