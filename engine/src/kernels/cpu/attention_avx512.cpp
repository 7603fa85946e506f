// attention_tile for CPUs with AVX-512 F/BW/VL/DQ, built with those instruction sets
// (engine/CMakeLists.txt). The rounding steps are the reference's (attention.cpp): F16-rounded
// query times F16 key (exact in float), softmax weights rounded to F16 before meeting the values,
// the weighted sum of values accumulated in float per dimension in position order (bit-identical
// to the reference, since each product is exact). What differs: the score dot products are
// summed in float, in four partial sums per key (the reference sums each in double), and exp is a
// vector polynomial within 2 ulp of expf (llama.cpp's softmax uses such an approximation too;
// an exact-to-expf version in double cost 3% of SmolLM2's prompt time and changed no golden
// result). Like vec_dot_x86.inc, this file uses no inline code shared with baseline files.

#include "kernels/cpu/attention.h"

#if defined(__x86_64__)
#include "kernels/cpu/avx512_intrinsics.h"
#include <math.h>

#include "kernels/cpu/avx512_math.h"

namespace tandem::cpu {
namespace {

constexpr int kMaxHeadDim = 512;
// Queries scored together against each key block (their partial sums fill 16 registers).
constexpr int32_t kQueriesPerPass = 4;
// Value dimensions accumulated in registers at once.
constexpr int32_t kValueBlock = 256;

inline __m512 round_to_f16(__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); }
inline __m512 load16_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Stores one key block's scores (lane i: position block_start + i) into a query's row, which
// starts at position first and ends before n_kv; soft-capping first when the model has it.
inline void store_block_scores(__m512 s, int32_t block_start, int32_t first, int32_t n_kv, const AttentionShape& shape,
                               float* row) {
  if (shape.softcap == 0.0f && block_start >= first && block_start + kKeyBlock <= n_kv) {
    _mm512_storeu_ps(row + (block_start - first), s);
    return;
  }
  alignas(64) float lanes[kKeyBlock];
  _mm512_store_ps(lanes, s);
  const int32_t lo = block_start > first ? block_start : first;
  const int32_t hi = block_start + kKeyBlock < n_kv ? block_start + kKeyBlock : n_kv;
  for (int32_t p = lo; p < hi; ++p) {
    float x = lanes[p - block_start];
    if (shape.softcap > 0.0f) x = shape.softcap * tanhf(x / shape.softcap);
    row[p - first] = x;
  }
}

// Softmax in place: vector exp, sum in double, then the weights rounded to F16.
void softmax_to_f16_weights(float* scores, int32_t n_kv) {
  __m512 max16 = _mm512_set1_ps(-INFINITY);
  int32_t j = 0;
  for (; j + 16 <= n_kv; j += 16) max16 = _mm512_max_ps(max16, _mm512_loadu_ps(scores + j));
  float max = _mm512_reduce_max_ps(max16);
  for (; j < n_kv; ++j) max = scores[j] > max ? scores[j] : max;
  __m512d sum8 = _mm512_setzero_pd();
  double sum = 0.0;
  for (j = 0; j + 16 <= n_kv; j += 16) {
    const __m512 e = avx512_math::exp(_mm512_sub_ps(_mm512_loadu_ps(scores + j), _mm512_set1_ps(max)));
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
}

// out[0, 16 * kChunks) += sum over i < n_keys of weights[i] x values row i (rows kValueBlock
// apart), in key order; first: out starts at zero. kChunks is a constant so that the sums stay
// in registers (a run-time count made the compiler keep them in memory, one store per product).
template <int kChunks>
void accumulate_values(const float* weights, const float* values, int32_t n_keys, bool first, float* out) {
  __m512 acc[kChunks];
  for (int c = 0; c < kChunks; ++c) acc[c] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(out + 16 * c);
  for (int32_t i = 0; i < n_keys; ++i) {
    const __m512 p = _mm512_set1_ps(weights[i]);
    for (int c = 0; c < kChunks; ++c) acc[c] = _mm512_fmadd_ps(p, _mm512_load_ps(values + i * kValueBlock + 16 * c), acc[c]);
  }
  for (int c = 0; c < kChunks; ++c) _mm512_storeu_ps(out + 16 * c, acc[c]);
}

}  // namespace

void attention_tile_avx512(const AttentionTile& tile, BlockedKeys k, const uint16_t* v, int64_t v_stride,
                           const AttentionShape& shape, float* scores, int64_t scores_stride) {
  const int32_t head_dim = shape.head_dim;
  const int32_t n_queries = tile.n_queries;
  const int32_t first = tile.first;
  if (n_queries == 0) return;
  // Queries rounded to F16, in fours (the last four padded with copies, whose scores are dropped).
  alignas(64) float q16[(kMaxTileQueries + kQueriesPerPass - 1) * kMaxHeadDim];
  int32_t max_kv = 0;
  const int32_t padded = (n_queries + kQueriesPerPass - 1) / kQueriesPerPass * kQueriesPerPass;
  for (int32_t qi = 0; qi < padded; ++qi) {
    const float* q = tile.q[qi < n_queries ? qi : n_queries - 1];
    for (int32_t d = 0; d < head_dim; d += 16) {
      _mm512_store_ps(q16 + qi * head_dim + d, round_to_f16(_mm512_loadu_ps(q + d)));
    }
    if (qi < n_queries) max_kv = tile.n_kv[qi] > max_kv ? tile.n_kv[qi] : max_kv;
  }

  // Scores, a key block at a time: the block is converted to float once, then one vector per
  // dimension holds sixteen keys, so each query needs only multiply-adds with its broadcast
  // values. Each query sums dimension d into partial sum d % 4 (four chains hide the latency) and
  // adds the four at the end, whatever else shares the tile.
  alignas(64) float keys[kMaxHeadDim * kKeyBlock];
  for (int32_t block = first / kKeyBlock; block * kKeyBlock < max_kv; ++block) {
    const uint16_t* kb = k.base + block * k.block_stride;
    for (int32_t d = 0; d < head_dim; ++d) _mm512_store_ps(keys + d * kKeyBlock, load16_f16(kb + d * kKeyBlock));
    const int32_t block_start = block * kKeyBlock;
    for (int32_t qg = 0; qg < n_queries; qg += kQueriesPerPass) {
      __m512 acc[kQueriesPerPass][4];
      for (auto& query : acc) {
        for (__m512& partial : query) partial = _mm512_setzero_ps();
      }
      const float* qs = q16 + qg * head_dim;
      for (int32_t d = 0; d < head_dim; d += 4) {
        __m512 key[4];
        for (int i = 0; i < 4; ++i) key[i] = _mm512_load_ps(keys + (d + i) * kKeyBlock);
        for (int qq = 0; qq < kQueriesPerPass; ++qq) {
          for (int i = 0; i < 4; ++i) {
            acc[qq][i] = _mm512_fmadd_ps(_mm512_set1_ps(qs[qq * head_dim + d + i]), key[i], acc[qq][i]);
          }
        }
      }
      for (int qq = 0; qq < kQueriesPerPass && qg + qq < n_queries; ++qq) {
        const int32_t n_kv = tile.n_kv[qg + qq];
        if (block_start >= n_kv) continue;
        const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[qq][0], acc[qq][1]), _mm512_add_ps(acc[qq][2], acc[qq][3]));
        store_block_scores(_mm512_mul_ps(sum, _mm512_set1_ps(shape.scale)), block_start, first, n_kv, shape,
                           scores + (qg + qq) * scores_stride);
      }
    }
  }
  for (int32_t qi = 0; qi < n_queries; ++qi) softmax_to_f16_weights(scores + qi * scores_stride, tile.n_kv[qi] - first);

  // Values, converted once per block for every query. Each product of an F16 weight and an F16
  // value is exact, so the fused multiply-add rounds exactly as the reference's multiply then add;
  // every dimension accumulates in position order (the partial sums wait in out between blocks).
  alignas(64) float values[kKeyBlock * kValueBlock];
  const uint16_t* v_first = v + first * v_stride;
  const int32_t max_n = max_kv - first;
  for (int32_t d0 = 0; d0 < head_dim; d0 += kValueBlock) {
    const int32_t chunks = (head_dim - d0 < kValueBlock ? head_dim - d0 : kValueBlock) / 16;
    for (int32_t j = 0; j < max_n; j += kKeyBlock) {
      const int32_t n_keys = max_n - j < kKeyBlock ? max_n - j : kKeyBlock;
      for (int32_t i = 0; i < n_keys; ++i) {
        const uint16_t* value = v_first + (j + i) * v_stride + d0;
        for (int c = 0; c < chunks; ++c) _mm512_store_ps(values + i * kValueBlock + 16 * c, load16_f16(value + 16 * c));
      }
      for (int32_t qi = 0; qi < n_queries; ++qi) {
        const int32_t n_kv = tile.n_kv[qi] - first;
        if (j >= n_kv) continue;
        const int32_t n_mine = n_kv - j < n_keys ? n_kv - j : n_keys;
        const float* weights = scores + qi * scores_stride + j;
        float* out = tile.out[qi] + d0;
        const bool start = j == 0;
        switch (chunks) {
#define TANDEM_VALUE_CASE(n) \
  case n: accumulate_values<n>(weights, values, n_mine, start, out); break;
          TANDEM_VALUE_CASE(1) TANDEM_VALUE_CASE(2) TANDEM_VALUE_CASE(3) TANDEM_VALUE_CASE(4)
          TANDEM_VALUE_CASE(5) TANDEM_VALUE_CASE(6) TANDEM_VALUE_CASE(7) TANDEM_VALUE_CASE(8)
          TANDEM_VALUE_CASE(9) TANDEM_VALUE_CASE(10) TANDEM_VALUE_CASE(11) TANDEM_VALUE_CASE(12)
          TANDEM_VALUE_CASE(13) TANDEM_VALUE_CASE(14) TANDEM_VALUE_CASE(15) TANDEM_VALUE_CASE(16)
#undef TANDEM_VALUE_CASE
          default: break;
        }
      }
    }
  }
}

}  // namespace tandem::cpu

#else

namespace tandem::cpu {
void attention_tile_avx512(const AttentionTile&, BlockedKeys, const uint16_t*, int64_t, const AttentionShape&, float*,
                           int64_t) {}
}  // namespace tandem::cpu

#endif
