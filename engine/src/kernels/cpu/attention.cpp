#include "kernels/cpu/attention.h"

#include <cmath>

#include "core/check.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/elementwise.h"
#include "quant/fp16.h"

namespace tandem::cpu {
namespace {

// Precision follows llama.cpp's attention (without flash attention), which the golden tests
// compare against: the query is rounded to F16 to meet the F16 keys and the dot product is summed
// in double; the softmax weights are rounded to F16 to meet the F16 values. key_at(j, d) is
// dimension d of the j-th key attended, in whatever layout the caller has.
template <typename KeyAt>
void attention_query_scalar(const float* qh, int32_t n_kv, KeyAt key_at, const uint16_t* v, int64_t v_stride,
                            const AttentionShape& shape, float* oh, float* scores) {
  for (int32_t j = 0; j < n_kv; ++j) {
    double dot = 0.0;
    for (int32_t d = 0; d < shape.head_dim; ++d) {
      dot += static_cast<double>(fp16_to_fp32(fp32_to_fp16(qh[d])) * fp16_to_fp32(key_at(j, d)));
    }
    float s = static_cast<float>(dot) * shape.scale;
    if (shape.softcap > 0.0f) s = shape.softcap * std::tanh(s / shape.softcap);
    scores[j] = s;
  }
  softmax(scores, n_kv);
  for (int32_t d = 0; d < shape.head_dim; ++d) oh[d] = 0.0f;
  for (int32_t j = 0; j < n_kv; ++j) {
    const uint16_t* vj = v + j * v_stride;
    const float p = fp16_to_fp32(fp32_to_fp16(scores[j]));
    for (int32_t d = 0; d < shape.head_dim; ++d) oh[d] += p * fp16_to_fp32(vj[d]);
  }
}

}  // namespace

void attention(const float* q, const uint16_t* k, const uint16_t* v, int32_t n_kv, const AttentionShape& shape,
               float* out, float* scores) {
  const int32_t group = shape.n_head / shape.n_head_kv;
  const int64_t kv_stride = static_cast<int64_t>(shape.n_head_kv) * shape.head_dim;
  for (int32_t h = 0; h < shape.n_head; ++h) {
    const uint16_t* kh = k + static_cast<int64_t>(h / group) * shape.head_dim;
    const auto key_at = [&](int32_t j, int32_t d) { return kh[j * kv_stride + d]; };
    attention_query_scalar(q + static_cast<int64_t>(h) * shape.head_dim, n_kv, key_at,
                           v + static_cast<int64_t>(h / group) * shape.head_dim, kv_stride, shape,
                           out + static_cast<int64_t>(h) * shape.head_dim, scores);
  }
}

void attention_tile(const AttentionTile& tile, BlockedKeys k, const uint16_t* v, int64_t v_stride,
                    const AttentionShape& shape, float* scores, int64_t scores_stride) {
  attention_tile(tile, k, v, v_stride, shape, scores, scores_stride, active_isa_level());
}

void attention_tile(const AttentionTile& tile, BlockedKeys k, const uint16_t* v, int64_t v_stride,
                    const AttentionShape& shape, float* scores, int64_t scores_stride, IsaLevel level) {
  TANDEM_CHECK(tile.n_queries >= 0 && tile.n_queries <= kMaxTileQueries && tile.first >= 0);
  TANDEM_CHECK(level <= best_isa_level());
#if defined(__x86_64__)
  if (level >= IsaLevel::kAvx512Vnni && shape.head_dim % 16 == 0 && shape.head_dim <= 512) {
    attention_tile_avx512(tile, k, v, v_stride, shape, scores, scores_stride);
    return;
  }
#endif
  // Narrower vectors gain little from sharing conversions: one query at a time.
  for (int32_t qi = 0; qi < tile.n_queries; ++qi) {
    float* row = scores + qi * scores_stride;
    const int32_t n = tile.n_kv[qi] - tile.first;
#if defined(__x86_64__)
    if (level >= IsaLevel::kAvx2 && shape.head_dim % 8 == 0 && shape.head_dim <= 512) {
      attention_query_avx2(tile.q[qi], tile.first, tile.n_kv[qi], k, v, v_stride, shape, tile.out[qi], row);
      continue;
    }
#endif
    const auto key_at = [&](int32_t j, int32_t d) {
      const int32_t p = tile.first + j;
      return k.base[(p / kKeyBlock) * k.block_stride + d * kKeyBlock + p % kKeyBlock];
    };
    attention_query_scalar(tile.q[qi], n, key_at, v + tile.first * v_stride, v_stride, shape, tile.out[qi], row);
  }
}

}  // namespace tandem::cpu
