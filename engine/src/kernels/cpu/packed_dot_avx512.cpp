// Kernels for packed weight groups (packed_weights.h) on CPUs with AVX-512 F/BW/VL/DQ + VNNI.
// Built with those instruction sets (engine/CMakeLists.txt); only reached through
// packed_dot_kernel(), which checks the CPU first. Like vec_dot_x86.inc, this file shares no
// inline code with baseline files.
//
// One 512-bit register holds a pair of rows' 32 values each; the activation block is broadcast to
// both halves, so one VNNI instruction forms 2 x 8 partial sums of 4 products. Each pair keeps
// its own float accumulator per activation, which gives the out-of-order core four independent
// chains at batch 1 where the row kernels have one.

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/dot_kernels.h"
#include "kernels/cpu/packed_weights.h"
#include "quant/block_layouts.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 fills unused AVX-512 lanes with self-initialised "undefined" vectors and warns at every
// inlined call (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

namespace tandem::cpu {
namespace packed_avx512 {
namespace {

constexpr int kPairs = kPackRows / 2;

// The activation block formats: Q8_1 (with s = d * sum) for weights with a minimum, else Q8_0.
template <bool kHasMin>
struct Activation {
  using Block = BlockQ8_0;
};
template <>
struct Activation<true> {
  using Block = BlockQ8_1;
};

// The float table of block scales after an activation row (see activation_row_bytes).
inline const float* scale_table(const uint8_t* row, int64_t n_blocks, size_t block_bytes) {
  const size_t offset = (static_cast<size_t>(n_blocks) * block_bytes + 63) / 64 * 64;
  return reinterpret_cast<const float*>(row + offset);
}

inline float hsum256(__m256 v) {
  const __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 hi = _mm_movehl_ps(lo, lo);
  const __m128 s = _mm_add_ps(lo, hi);
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// kLayout: the packed block; kBits: 4, 5 or 8 bits per stored value.
template <const PackedLayout& kLayout, int kBits, int NT>
void packed_rows(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, float* out,
                 size_t out_stride) {
  constexpr bool kHasMin = kLayout.m != 0;
  using ActBlock = typename Activation<kHasMin>::Block;
  const int64_t nb = n / kQK;

  const ActBlock* y[NT];
  const float* dy[NT];
  for (int t = 0; t < NT; ++t) {
    const uint8_t* row = act + static_cast<size_t>(t) * act_stride;
    y[t] = reinterpret_cast<const ActBlock*>(row);
    dy[t] = scale_table(row, nb, sizeof(ActBlock));
  }

  __m512 acc[kPairs][NT];
  __m256 acc_min[NT];
  for (int t = 0; t < NT; ++t) {
    for (int p = 0; p < kPairs; ++p) acc[p][t] = _mm512_setzero_ps();
    acc_min[t] = _mm256_setzero_ps();
  }
  // Lanes 0-7 take row 2p's scale, lanes 8-15 row 2p + 1's.
  __m512i pick[kPairs];
  for (int p = 0; p < kPairs; ++p) {
    pick[p] = _mm512_inserti64x4(_mm512_set1_epi32(2 * p), _mm256_set1_epi32(2 * p + 1), 1);
  }
  // Shifts the broadcast nibble bytes by 0 in the low half and 4 in the high half.
  const __m512i nibble_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(kLayout.offset));

  for (int64_t ib = 0; ib < nb; ++ib) {
    const uint8_t* blk = group + static_cast<size_t>(ib) * kLayout.bytes;
    const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kLayout.d)));
    __m512i q[kPairs];
    for (int p = 0; p < kPairs; ++p) {
      if constexpr (kBits == 8) {
        q[p] = _mm512_loadu_si512(blk + kLayout.qs + 64 * p);
      } else {
        const __m512i both =
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kLayout.qs + 32 * p)));
        q[p] = _mm512_and_si512(_mm512_srlv_epi16(both, nibble_shift), low4);
        if constexpr (kBits == 5) {
          uint64_t fifth;
          __builtin_memcpy(&fifth, blk + kLayout.qh + 8 * p, sizeof(fifth));
          q[p] = _mm512_mask_add_epi8(q[p], fifth, q[p], _mm512_set1_epi8(0x10));
        }
      }
    }
    for (int t = 0; t < NT; ++t) {
      const __m512i a =
          _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[t][ib].qs)));
      // Start every sum at -offset * (sum of the four activations of its lane).
      __m512i base = _mm512_setzero_si512();
      if constexpr (kLayout.offset != 0) {
        base = _mm512_sub_epi32(base, _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, a));
      }
      const __m512 scale = _mm512_zextps256_ps512(_mm256_mul_ps(dx, _mm256_set1_ps(dy[t][ib])));
      for (int p = 0; p < kPairs; ++p) {
        const __m512i sums = _mm512_dpbusd_epi32(base, q[p], a);
        acc[p][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_permutexvar_ps(pick[p], scale), acc[p][t]);
      }
      if constexpr (kHasMin) {
        const __m256 mx = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kLayout.m)));
        acc_min[t] = _mm256_fmadd_ps(mx, _mm256_set1_ps(dy[t][nb + ib]), acc_min[t]);
      }
    }
  }

  for (int t = 0; t < NT; ++t) {
    alignas(32) float mins[kPackRows];
    _mm256_store_ps(mins, acc_min[t]);
    float* o = out + static_cast<size_t>(t) * out_stride;
    for (int p = 0; p < kPairs; ++p) {
      o[2 * p] = hsum256(_mm512_castps512_ps256(acc[p][t])) + mins[2 * p];
      o[2 * p + 1] = hsum256(_mm512_extractf32x8_ps(acc[p][t], 1)) + mins[2 * p + 1];
    }
  }
}

template <const PackedLayout& kLayout, int kBits>
void by_tokens(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, int n_tok, float* out,
               size_t out_stride) {
  switch (n_tok) {
    case 1: packed_rows<kLayout, kBits, 1>(group, act, act_stride, n, out, out_stride); break;
    case 2: packed_rows<kLayout, kBits, 2>(group, act, act_stride, n, out, out_stride); break;
    case 3: packed_rows<kLayout, kBits, 3>(group, act, act_stride, n, out, out_stride); break;
    default: packed_rows<kLayout, kBits, 4>(group, act, act_stride, n, out, out_stride); break;
  }
}

}  // namespace
}  // namespace packed_avx512

PackedDotFn packed_dot_kernel_avx512(GgmlType type) {
  using namespace packed_avx512;
  switch (type) {
    case GgmlType::Q4_0: return by_tokens<kPackedQ4_0, 4>;
    case GgmlType::Q4_1: return by_tokens<kPackedQ4_1, 4>;
    case GgmlType::Q5_0: return by_tokens<kPackedQ5_0, 5>;
    case GgmlType::Q5_1: return by_tokens<kPackedQ5_1, 5>;
    case GgmlType::Q8_0: return by_tokens<kPackedQ8_0, 8>;
    default: return nullptr;
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
PackedDotFn packed_dot_kernel_avx512(GgmlType) { return nullptr; }
}  // namespace tandem::cpu

#endif
