// Kernels for packed weight groups (packed_weights.h) on CPUs with AVX-512 F/BW/VL/DQ + VNNI.
// Built with those instruction sets (engine/CMakeLists.txt); only reached through
// packed_dot_kernel(), which checks the CPU first. Like vec_dot_x86.inc, this file shares no
// inline code with baseline files.
//
// See packed_weights.h for the layouts: every 32-bit lane of a register belongs to one row of the
// group, and the activation's matching bytes are broadcast to every lane, so VNNI instructions
// make a block's integer sums for all rows at once and one multiply-add applies their scales.

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/dot_kernels.h"
#include "kernels/cpu/packed_weights.h"
#include "quant/block_layouts.h"

#if defined(__x86_64__)
#include "kernels/cpu/avx512_intrinsics.h"

namespace tandem::cpu {
namespace packed_avx512 {
namespace {

// The activation block formats: Q8_1 (with s = d * sum) for weights with a minimum, else Q8_0.
template <bool kHasMin>
struct Activation {
  using Block = BlockQ8_0;
};
template <>
struct Activation<true> {
  using Block = BlockQ8_1;
};

// The tables after an activation row (activation_row_bytes): float d[nb], for Q8_1 float s[nb],
// then int32 sum[nb].
inline const float* table_after(const uint8_t* row, int64_t n_blocks, size_t block_bytes) {
  const size_t offset = (static_cast<size_t>(n_blocks) * block_bytes + 63) / 64 * 64;
  return reinterpret_cast<const float*>(row + offset);
}

// How far ahead of the block being read the kernels prefetch.
constexpr size_t kPrefetchBytes = 1024;

// Prefetches the `bytes` of the block `ahead` bytes past blk: the stream is sequential, but each
// thread's part starts cold, so a few blocks are kept in flight.
inline void prefetch_block(const uint8_t* blk, size_t ahead, size_t bytes) {
  for (size_t line = 0; line < bytes; line += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(blk + ahead + line), _MM_HINT_T0);
  }
}

// Eight F16 row scales, row r's in lanes 2r and 2r + 1 (the K-quant kernels' lane layout).
inline __m512 scales_twice(const uint8_t* d) {
  const __m512i twice = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  return _mm512_permutexvar_ps(
      twice, _mm512_zextps256_ps512(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d)))));
}

inline __m512i broadcast8(const int8_t* p) {
  int64_t bytes;
  __builtin_memcpy(&bytes, p, sizeof(bytes));
  return _mm512_set1_epi64(bytes);
}

// ---- Legacy types, sixteen rows: lane r is row r ------------------------------------------

// kLayout: the packed block; kBits: 4, 5 or 8 bits per stored value.
template <const PackedLayout& kLayout, int kBits, int NT>
void packed_rows(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, float* out,
                 size_t out_stride) {
  constexpr bool kHasMin = kLayout.m != 0;
  // The offset is undone from the table's -8 x sum, shifted left: offsets 8, 16 and 128.
  constexpr int kOffsetShift = kLayout.offset == 16 ? 1 : kLayout.offset == 128 ? 4 : 0;
  static_assert(kLayout.offset == 0 || kLayout.offset == 8 << kOffsetShift, "offset must be 8, 16 or 128");
  using ActBlock = typename Activation<kHasMin>::Block;
  const int64_t nb = n / kQK;

  const ActBlock* y[NT];
  const float* dy[NT];
  const int32_t* sum_y[NT];  // -8 x each block's sum (dot_kernels.h)
  for (int t = 0; t < NT; ++t) {
    const uint8_t* row = act + static_cast<size_t>(t) * act_stride;
    y[t] = reinterpret_cast<const ActBlock*>(row);
    dy[t] = table_after(row, nb, sizeof(ActBlock));
    sum_y[t] = reinterpret_cast<const int32_t*>(dy[t]) + (kHasMin ? 2 : 1) * nb;
  }

  // One accumulator per activation, whatever NT is: a token's result must not depend on how many
  // others share its call (batching changes no answer). At batch 1 a block's ~25 instructions
  // already cover the multiply-add latency.
  // The minimum's accumulators exist only for the types that have one: zero arrays kept for the
  // others cost two 512-byte memsets per call (4% of a Q4_0 prompt's matrix time).
  __m512 acc[NT];
  [[maybe_unused]] __m512 acc_min[kHasMin ? NT : 1];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  if constexpr (kHasMin) {
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) acc_min[t] = _mm512_setzero_ps();
  }
  const __m512i low4 = _mm512_set1_epi8(0x0F);

  for (int64_t ib = 0; ib < nb; ++ib) {
    const uint8_t* blk = group + static_cast<size_t>(ib) * kLayout.bytes;
    prefetch_block(blk, kPrefetchBytes, kLayout.bytes);
    const __m512 dx = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kLayout.d)));
    // w[k]: values 4k .. 4k + 3 of every row.
    __m512i w[8];
    if constexpr (kBits == 8) {
      for (int k = 0; k < 8; ++k) w[k] = _mm512_loadu_si512(blk + kLayout.qs + 64 * k);
    } else {
      for (int c = 0; c < 4; ++c) {
        const __m512i raw = _mm512_loadu_si512(blk + kLayout.qs + 64 * c);
        w[c] = _mm512_and_si512(raw, low4);
        w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
      }
      if constexpr (kBits == 5) {
        for (int k = 0; k < 8; ++k) {
          uint64_t fifth;
          __builtin_memcpy(&fifth, blk + kLayout.qh + 8 * k, sizeof(fifth));
          w[k] = _mm512_mask_add_epi8(w[k], fifth, w[k], _mm512_set1_epi8(0x10));
        }
      }
    }
    for (int t = 0; t < NT; ++t) {
      // Every row's sum starts at -offset * (sum of the block's activations): exact integers,
      // scaled once, as in the scalar reference. The table holds -8 x the sum.
      __m512i sums = _mm512_setzero_si512();
      if constexpr (kLayout.offset != 0) sums = _mm512_set1_epi32(sum_y[t][ib]);
      if constexpr (kOffsetShift != 0) sums = _mm512_slli_epi32(sums, kOffsetShift);
      const int8_t* a = y[t][ib].qs;
      for (int k = 0; k < 8; ++k) {
        int32_t four;
        __builtin_memcpy(&four, a + 4 * k, sizeof(four));
        sums = _mm512_dpbusd_epi32(sums, w[k], _mm512_set1_epi32(four));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), _mm512_mul_ps(dx, _mm512_set1_ps(dy[t][ib])), acc[t]);
      if constexpr (kHasMin) {
        const __m512 mx = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kLayout.m)));
        acc_min[t] = _mm512_fmadd_ps(mx, _mm512_set1_ps(dy[t][nb + ib]), acc_min[t]);
      }
    }
  }

  for (int t = 0; t < NT; ++t) {
    __m512 rows = acc[t];
    if constexpr (kHasMin) rows = _mm512_add_ps(rows, acc_min[t]);
    _mm512_storeu_ps(out + static_cast<size_t>(t) * out_stride, rows);
  }
}

// ---- K-quants, eight rows: lanes 2r and 2r + 1 are row r ------------------------------------

// The eight row sums of a K-quant accumulator, whose lanes 2r and 2r + 1 hold row r.
inline __m256 row_sums(__m512 acc) {
  const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
  const __m512 pairs = _mm512_add_ps(acc, _mm512_permute_ps(acc, 0xB1));
  return _mm512_castps512_ps256(_mm512_permutexvar_ps(evens, pairs));
}

// The K-quant kernels' activation tables (add_packed_activation_tables), after the row's blocks.
struct KActivation {
  const BlockQ8_K* blocks;
  const int8_t* qs;        // 256 bytes per super-block in register order
  const int32_t* offset;   // 16 per super-block: -32 x each Q6_K sub-block's sum, pairs adjacent
};

inline KActivation k_activation(const uint8_t* row, int64_t nb) {
  const auto* qs = reinterpret_cast<const int8_t*>(table_after(row, nb, sizeof(BlockQ8_K)));
  return {reinterpret_cast<const BlockQ8_K*>(row), qs, reinterpret_cast<const int32_t*>(qs + nb * kQK_K)};
}

// ---- Q4_K x Q8_K: d_y (d sum_j sc_j S_j - dmin sum_j m_j bsum_j) per row --------------------

template <int NT>
void q4_k_packed_rows(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, float* out,
                      size_t out_stride) {
  const PackedLayoutK& layout = kPackedQ4_K;
  const int64_t nb = n / kQK_K;
  KActivation y[NT];
  for (int t = 0; t < NT; ++t) y[t] = k_activation(act + static_cast<size_t>(t) * act_stride, nb);

  __m512 acc[NT];
  __m256 acc_min[NT];
  for (int t = 0; t < NT; ++t) {
    acc[t] = _mm512_setzero_ps();
    acc_min[t] = _mm256_setzero_ps();
  }
  // Dwords of packs_epi32(b, b) holding the pairs (b0, b1), (b2, b3) and (b4, b5), (b6, b7).
  const __m512i pairs01 = _mm512_inserti64x4(_mm512_set1_epi32(0), _mm256_set1_epi32(1), 1);
  const __m512i pairs23 = _mm512_inserti64x4(_mm512_set1_epi32(4), _mm256_set1_epi32(5), 1);
  const __m512i low4 = _mm512_set1_epi8(0x0F);

  for (int64_t ib = 0; ib < nb; ++ib) {
    const uint8_t* blk = group + static_cast<size_t>(ib) * layout.bytes;
    prefetch_block(blk, layout.bytes, layout.bytes);
    __m512i isum[NT];
    for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
      // Registers (g, 0..7): sub-blocks 2g (even lanes) and 2g + 1 (odd lanes).
      __m512i w[8];
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512i raw = _mm512_loadu_si512(blk + layout.qs + 256 * g + 64 * c);
        w[c] = _mm512_and_si512(raw, low4);
        w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
      }
      const __m512i scale =
          _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + layout.scales + 16 * g)));
      for (int t = 0; t < NT; ++t) {
        const int8_t* a = y[t].qs + kQK_K * ib + 64 * g;
        __m512i sums = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) sums = _mm512_dpbusd_epi32(sums, w[k], broadcast8(a + 8 * k));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(sums, scale));
      }
    }
    const __m512 dx = scales_twice(blk + layout.d);
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + layout.dmin)));
    const __m512i mins01 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + layout.mins)));
    const __m512i mins23 =
        _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + layout.mins + 32)));
    for (int t = 0; t < NT; ++t) {
      const BlockQ8_K& yb = y[t].blocks[ib];
      // Sums of the eight 32-value sub-blocks from the sixteen 16-value bsums, as int16 pairs.
      const __m256i b32 =
          _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb.bsums)), _mm256_set1_epi16(1));
      const __m512i b16 = _mm512_zextsi256_si512(_mm256_packs_epi32(b32, b32));
      __m512i m = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mins01, _mm512_permutexvar_epi32(pairs01, b16));
      m = _mm512_dpwssd_epi32(m, mins23, _mm512_permutexvar_epi32(pairs23, b16));
      const __m256i m8 = _mm256_add_epi32(_mm512_castsi512_si256(m), _mm512_extracti64x4_epi64(m, 1));
      const __m256 dy = _mm256_set1_ps(yb.d);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dx, _mm512_set1_ps(yb.d)), acc[t]);
      acc_min[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m8), _mm256_mul_ps(dmin, dy), acc_min[t]);
    }
  }

  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(out + static_cast<size_t>(t) * out_stride, _mm256_sub_ps(row_sums(acc[t]), acc_min[t]));
  }
}

// ---- Q6_K x Q8_K: d d_y sum_s sc_s sum (q - 32) a per row ----------------------------------

template <int NT>
void q6_k_packed_rows(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, float* out,
                      size_t out_stride) {
  const PackedLayoutQ6K& layout = kPackedQ6_K;
  const int64_t nb = n / kQK_K;
  KActivation y[NT];
  for (int t = 0; t < NT; ++t) y[t] = k_activation(act + static_cast<size_t>(t) * act_stride, nb);

  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  const __m512i low6 = _mm512_set1_epi8(0x3F);
  const __m512i bits01 = _mm512_set1_epi8(0x03);
  const __m512i bits23 = _mm512_set1_epi8(0x0C);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  constexpr int kOrMasked = 0xF8;  // ternary logic: a | (b & c)

  for (int64_t ib = 0; ib < nb; ++ib) {
    const uint8_t* blk = group + static_cast<size_t>(ib) * layout.bytes;
    prefetch_block(blk, layout.bytes, layout.bytes);
    __m512i isum[NT];
    for (int t = 0; t < NT; ++t) isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      // Registers (p, 0..2) in bits 0-5 of three chunks, (p, 3) in their top two bits.
      const __m512i x0 = _mm512_loadu_si512(blk + layout.qs + 192 * p);
      const __m512i x1 = _mm512_loadu_si512(blk + layout.qs + 192 * p + 64);
      const __m512i x2 = _mm512_loadu_si512(blk + layout.qs + 192 * p + 128);
      __m512i w[4];
      w[0] = _mm512_and_si512(x0, low6);
      w[1] = _mm512_and_si512(x1, low6);
      w[2] = _mm512_and_si512(x2, low6);
      const __m512i fourth01 = _mm512_and_si512(_mm512_srli_epi16(x0, 6), bits01);
      const __m512i fourth03 = _mm512_ternarylogic_epi32(fourth01, _mm512_srli_epi16(x1, 4), bits23, kOrMasked);
      w[3] = _mm512_ternarylogic_epi32(fourth03, _mm512_srli_epi16(x2, 2), bits45, kOrMasked);
      const __m512i scale =
          _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + layout.scales + 16 * p)));
      for (int t = 0; t < NT; ++t) {
        // Sub-blocks 2p and 2p + 1 start at their offsets, in the even and odd lanes.
        int64_t pair_offset;
        __builtin_memcpy(&pair_offset, y[t].offset + 16 * ib + 2 * p, sizeof(pair_offset));
        __m512i sums = _mm512_set1_epi64(pair_offset);
        const int8_t* a = y[t].qs + kQK_K * ib + 32 * p;
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) sums = _mm512_dpbusd_epi32(sums, w[q], broadcast8(a + 8 * q));
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(sums, scale));
      }
    }
    const __m512 dx = scales_twice(blk + layout.d);
    for (int t = 0; t < NT; ++t) {
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dx, _mm512_set1_ps(y[t].blocks[ib].d)),
                               acc[t]);
    }
  }

  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(out + static_cast<size_t>(t) * out_stride, row_sums(acc[t]));
}

// The K-quant kernels as types, for k_by_tokens.
struct Q4K {
  template <int NT>
  static void rows(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, float* out,
                   size_t out_stride) {
    q4_k_packed_rows<NT>(group, act, act_stride, n, out, out_stride);
  }
};
struct Q6K {
  template <int NT>
  static void rows(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, float* out,
                   size_t out_stride) {
    q6_k_packed_rows<NT>(group, act, act_stride, n, out, out_stride);
  }
};

// Up to kMaxPackedTileTokens activations, four at a time: the K-quant kernels hold one integer
// and two float accumulators per activation.
template <class Kernel>
void k_by_tokens(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, int n_tok, float* out,
                 size_t out_stride) {
  switch (n_tok) {
    case 1: Kernel::template rows<1>(group, act, act_stride, n, out, out_stride); break;
    case 2: Kernel::template rows<2>(group, act, act_stride, n, out, out_stride); break;
    case 3: Kernel::template rows<3>(group, act, act_stride, n, out, out_stride); break;
    case 4: Kernel::template rows<4>(group, act, act_stride, n, out, out_stride); break;
    default:
      Kernel::template rows<4>(group, act, act_stride, n, out, out_stride);
      k_by_tokens<Kernel>(group, act + 4 * act_stride, act_stride, n, n_tok - 4, out + 4 * out_stride, out_stride);
      break;
  }
}

template <const PackedLayout& kLayout, int kBits>
void by_tokens(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, int n_tok, float* out,
               size_t out_stride) {
  switch (n_tok) {
    case 1: packed_rows<kLayout, kBits, 1>(group, act, act_stride, n, out, out_stride); break;
    case 2: packed_rows<kLayout, kBits, 2>(group, act, act_stride, n, out, out_stride); break;
    case 3: packed_rows<kLayout, kBits, 3>(group, act, act_stride, n, out, out_stride); break;
    case 4: packed_rows<kLayout, kBits, 4>(group, act, act_stride, n, out, out_stride); break;
    case 5: packed_rows<kLayout, kBits, 5>(group, act, act_stride, n, out, out_stride); break;
    case 6: packed_rows<kLayout, kBits, 6>(group, act, act_stride, n, out, out_stride); break;
    case 7: packed_rows<kLayout, kBits, 7>(group, act, act_stride, n, out, out_stride); break;
    case 8: packed_rows<kLayout, kBits, 8>(group, act, act_stride, n, out, out_stride); break;
    case 16:
      // Sixteen accumulators fit beside the unpacked weights only without a minimum's sixteen
      // more and for 4/5-bit types (Q8_0's direct loads spilled: 15% slower than two passes).
      if constexpr (kLayout.m == 0 && kBits != 8) {
        packed_rows<kLayout, kBits, 16>(group, act, act_stride, n, out, out_stride);
        break;
      }
      [[fallthrough]];
    default:  // 9 to 15 (or 16 where sixteen does not fit): eight, then the rest
      packed_rows<kLayout, kBits, 8>(group, act, act_stride, n, out, out_stride);
      by_tokens<kLayout, kBits>(group, act + 8 * act_stride, act_stride, n, n_tok - 8, out + 8 * out_stride, out_stride);
      break;
  }
}

}  // namespace
}  // namespace packed_avx512

void add_k_activation_tables_avx512(const uint8_t* row, int64_t nb, uint8_t* tables) {
  // Qword 8g + k of a super-block: values 4k .. 4k + 3 of 64g .. 64g + 31, then of
  // 64g + 32 .. 64g + 63, so that one broadcast feeds lanes 2r and 2r + 1 of a register, which
  // hold sub-blocks 32 values apart (kPackedQ4_K, kPackedQ6_K).
  const __m512i order = _mm512_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
  // Q6_K sub-block 4g + i + 2h is in lane 2r + h of register pair 2g + i.
  const __m512i pair_order = _mm512_setr_epi32(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
  const auto* blocks = reinterpret_cast<const BlockQ8_K*>(row);
  auto* offset = reinterpret_cast<int32_t*>(tables + nb * kQK_K);
  for (int64_t ib = 0; ib < nb; ++ib) {
    for (int g = 0; g < 4; ++g) {
      _mm512_storeu_si512(tables + kQK_K * ib + 64 * g,
                          _mm512_permutexvar_epi32(order, _mm512_loadu_si512(blocks[ib].qs + 64 * g)));
    }
    // The 6-bit values' offset of 32, taken off exactly as in the scalar reference.
    const __m512i bsums = _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks[ib].bsums)));
    const __m512i offsets = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(bsums, 5));
    _mm512_storeu_si512(offset + 16 * ib, _mm512_permutexvar_epi32(pair_order, offsets));
  }
}

PackedDotFn packed_dot_kernel_avx512(GgmlType type) {
  using namespace packed_avx512;
  switch (type) {
    case GgmlType::Q4_0: return by_tokens<kPackedQ4_0, 4>;
    case GgmlType::Q4_1: return by_tokens<kPackedQ4_1, 4>;
    case GgmlType::Q5_0: return by_tokens<kPackedQ5_0, 5>;
    case GgmlType::Q5_1: return by_tokens<kPackedQ5_1, 5>;
    case GgmlType::Q8_0: return by_tokens<kPackedQ8_0, 8>;
    case GgmlType::Q4_K: return k_by_tokens<Q4K>;
    case GgmlType::Q6_K: return k_by_tokens<Q6K>;
    default: return nullptr;
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
PackedDotFn packed_dot_kernel_avx512(GgmlType) { return nullptr; }
void add_k_activation_tables_avx512(const uint8_t*, int64_t, uint8_t*) {}
}  // namespace tandem::cpu

#endif
