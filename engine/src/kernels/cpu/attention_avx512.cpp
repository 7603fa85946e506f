// attention_tile for CPUs with AVX-512 F/BW/VL/DQ, built with those instruction sets
// (engine/CMakeLists.txt). The rounding steps are the reference's (attention.cpp): F16-rounded
// query times F16 key (exact in float), softmax weights rounded to F16 before meeting the values,
// the weighted sum of values accumulated in float per dimension in position order (bit-identical
// to the reference, since each product is exact). What differs: the score dot products are
// summed in float, sixteen keys at a time (the reference sums each in double), and exp is a
// vector polynomial within 2 ulp of expf (llama.cpp's softmax uses such an approximation too;
// an exact-to-expf version in double cost 3% of SmolLM2's prompt time and changed no golden
// result). Like vec_dot_x86.inc, this file uses no inline code shared with baseline files.

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
// Keys (and values) converted from F16 at once, for every query of a tile.
constexpr int32_t kKeyBlock = 16;
// Value dimensions accumulated in registers at once.
constexpr int32_t kValueBlock = 256;

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

// Scores of one F16-rounded query against sixteen keys converted to float (rows head_dim apart).
// Each product is exact in float; the products are summed in float (the reference sums in
// double): twice as fast, and float-order noise like any other summation order.
inline void score_16_keys(const float* q16, const float* keys, int32_t head_dim, const AttentionShape& shape,
                          float* out) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
  for (int32_t d = 0; d < head_dim; d += 16) {
    const __m512 q = _mm512_load_ps(q16 + d);
    for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(q, _mm512_load_ps(keys + i * head_dim + d), acc[i]);
  }
  _mm512_storeu_ps(out, _mm512_mul_ps(sum16(acc), _mm512_set1_ps(shape.scale)));
  if (shape.softcap > 0.0f) {
    for (int i = 0; i < 16; ++i) out[i] = shape.softcap * tanhf(out[i] / shape.softcap);
  }
}

inline float score_1_key(const float* q16, const float* key, int32_t head_dim, const AttentionShape& shape) {
  __m512 acc = _mm512_setzero_ps();
  for (int32_t d = 0; d < head_dim; d += 16) acc = _mm512_fmadd_ps(_mm512_load_ps(q16 + d), _mm512_load_ps(key + d), acc);
  return finish_score(_mm512_reduce_add_ps(acc), shape);
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

void attention_tile_avx512(const AttentionTile& tile, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                           const AttentionShape& shape, float* scores, int64_t scores_stride) {
  const int32_t head_dim = shape.head_dim;
  const int32_t n_queries = tile.n_queries;
  alignas(64) float q16[kMaxTileQueries * kMaxHeadDim];
  int32_t max_kv = 0;
  for (int32_t qi = 0; qi < n_queries; ++qi) {
    for (int32_t d = 0; d < head_dim; d += 16) {
      _mm512_store_ps(q16 + qi * head_dim + d, round_to_f16(_mm512_loadu_ps(tile.q[qi] + d)));
    }
    max_kv = tile.n_kv[qi] > max_kv ? tile.n_kv[qi] : max_kv;
  }

  // Scores: sixteen keys at a time, converted to float once for every query of the tile. A query
  // whose keys end inside the block scores its last keys one by one, as it would alone.
  alignas(64) float keys[kKeyBlock * kMaxHeadDim];
  for (int32_t j = 0; j < max_kv; j += kKeyBlock) {
    const int32_t n_keys = max_kv - j < kKeyBlock ? max_kv - j : kKeyBlock;
    for (int32_t i = 0; i < n_keys; ++i) {
      const uint16_t* key = k + (j + i) * kv_stride;
      for (int32_t d = 0; d < head_dim; d += 16) _mm512_store_ps(keys + i * head_dim + d, load16_f16(key + d));
    }
    for (int32_t qi = 0; qi < n_queries; ++qi) {
      float* row = scores + qi * scores_stride;
      const int32_t n_kv = tile.n_kv[qi];
      if (j + kKeyBlock <= n_kv) {
        score_16_keys(q16 + qi * head_dim, keys, head_dim, shape, row + j);
      } else {
        for (int32_t i = j; i < n_kv; ++i) row[i] = score_1_key(q16 + qi * head_dim, keys + (i - j) * head_dim, head_dim, shape);
      }
    }
  }
  for (int32_t qi = 0; qi < n_queries; ++qi) softmax_to_f16_weights(scores + qi * scores_stride, tile.n_kv[qi]);

  // Values, converted once per block for every query. Each product of an F16 weight and an F16
  // value is exact, so the fused multiply-add rounds exactly as the reference's multiply then add;
  // every dimension accumulates in position order (the partial sums wait in out between blocks).
  alignas(64) float values[kKeyBlock * kValueBlock];
  for (int32_t d0 = 0; d0 < head_dim; d0 += kValueBlock) {
    const int32_t chunks = (head_dim - d0 < kValueBlock ? head_dim - d0 : kValueBlock) / 16;
    for (int32_t j = 0; j < max_kv; j += kKeyBlock) {
      const int32_t n_keys = max_kv - j < kKeyBlock ? max_kv - j : kKeyBlock;
      for (int32_t i = 0; i < n_keys; ++i) {
        const uint16_t* value = v + (j + i) * kv_stride + d0;
        for (int c = 0; c < chunks; ++c) _mm512_store_ps(values + i * kValueBlock + 16 * c, load16_f16(value + 16 * c));
      }
      for (int32_t qi = 0; qi < n_queries; ++qi) {
        const int32_t n_kv = tile.n_kv[qi];
        if (j >= n_kv) continue;
        const int32_t n_mine = n_kv - j < n_keys ? n_kv - j : n_keys;
        const float* weights = scores + qi * scores_stride + j;
        float* out = tile.out[qi] + d0;
        const bool first = j == 0;
        switch (chunks) {
#define TANDEM_VALUE_CASE(n) \
  case n: accumulate_values<n>(weights, values, n_mine, first, out); break;
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
void attention_tile_avx512(const AttentionTile&, const uint16_t*, const uint16_t*, int64_t, const AttentionShape&,
                           float*, int64_t) {}
}  // namespace tandem::cpu

#endif
