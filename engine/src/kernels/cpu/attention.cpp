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
// in double; the softmax weights are rounded to F16 to meet the F16 values.
void attention_head_scalar(const float* qh, const uint16_t* k, const uint16_t* v, int32_t n_kv, int64_t kv_stride,
                           const AttentionShape& shape, float* oh, float* scores) {
  for (int32_t j = 0; j < n_kv; ++j) {
    const uint16_t* kj = k + j * kv_stride;
    double dot = 0.0;
    for (int32_t d = 0; d < shape.head_dim; ++d) {
      dot += static_cast<double>(fp16_to_fp32(fp32_to_fp16(qh[d])) * fp16_to_fp32(kj[d]));
    }
    float s = static_cast<float>(dot) * shape.scale;
    if (shape.softcap > 0.0f) s = shape.softcap * std::tanh(s / shape.softcap);
    scores[j] = s;
  }
  softmax(scores, n_kv);
  for (int32_t d = 0; d < shape.head_dim; ++d) oh[d] = 0.0f;
  for (int32_t j = 0; j < n_kv; ++j) {
    const uint16_t* vj = v + j * kv_stride;
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
    const int64_t kv_offset = static_cast<int64_t>(h / group) * shape.head_dim;
    attention_head_scalar(q + static_cast<int64_t>(h) * shape.head_dim, k + kv_offset, v + kv_offset, n_kv, kv_stride,
                          shape, out + static_cast<int64_t>(h) * shape.head_dim, scores);
  }
}

void attention_tile(const AttentionTile& tile, const uint16_t* k, const uint16_t* v, int64_t kv_stride,
                    const AttentionShape& shape, float* scores, int64_t scores_stride) {
  TANDEM_CHECK(tile.n_queries >= 0 && tile.n_queries <= kMaxTileQueries);
#if defined(__x86_64__)
  if (active_isa_level() >= IsaLevel::kAvx512Vnni && shape.head_dim % 16 == 0 && shape.head_dim <= 512) {
    attention_tile_avx512(tile, k, v, kv_stride, shape, scores, scores_stride);
    return;
  }
#endif
  // Narrower vectors gain little from sharing conversions: one query at a time.
  for (int32_t qi = 0; qi < tile.n_queries; ++qi) {
    float* row = scores + qi * scores_stride;
#if defined(__x86_64__)
    if (active_isa_level() >= IsaLevel::kAvx2 && shape.head_dim % 8 == 0 && shape.head_dim <= 512) {
      attention_head_avx2(tile.q[qi], k, v, tile.n_kv[qi], kv_stride, shape, tile.out[qi], row);
      continue;
    }
#endif
    attention_head_scalar(tile.q[qi], k, v, tile.n_kv[qi], kv_stride, shape, tile.out[qi], row);
  }
}

void attention_head(const float* q, const uint16_t* k, const uint16_t* v, int32_t n_kv, const AttentionShape& shape,
                    int32_t h, float* out, float* scores) {
  const int32_t group = shape.n_head / shape.n_head_kv;
  const int64_t kv_stride = static_cast<int64_t>(shape.n_head_kv) * shape.head_dim;
  const int64_t kv_offset = static_cast<int64_t>(h / group) * shape.head_dim;
  AttentionTile tile;
  tile.n_queries = 1;
  tile.q[0] = q + static_cast<int64_t>(h) * shape.head_dim;
  tile.out[0] = out + static_cast<int64_t>(h) * shape.head_dim;
  tile.n_kv[0] = n_kv;
  attention_tile(tile, k + kv_offset, v + kv_offset, kv_stride, shape, scores, n_kv);
}

}  // namespace tandem::cpu
