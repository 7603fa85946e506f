#include "kernels/cpu/matmul.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/cpu/dot_kernels.h"
#include "kernels/cpu/packed_weights.h"
#include "kernels/cpu/quantize_activations.h"
#include "kernels/cpu/vec_dot.h"
#include "quant/dequantize.h"

namespace tandem::cpu {
namespace {

// Tokens whose converted activations stay in L2 while a thread sweeps its weight rows over them:
// 64 rows of at most a few KiB each. The weights are then read from memory once per chunk.
constexpr int64_t kTokenChunk = 64;
// Rows per unit of work handed to a thread; keeps each thread's output rows on their own
// cache lines, and packed groups whole.
constexpr int64_t kRowGrain = 16;
static_assert(kRowGrain % kPackRowsLegacy == 0 && kRowGrain % kPackRowsK == 0);

// The rows [row_begin, row_end): whole packed groups through the packed kernel (when there is
// one), every other row through the row kernel.
void matmul_rows(const WeightMatrix& w, const ConvertedActivations& a, float* y, PackedDotFn packed,
                 RowDotFn row_kernel, int64_t row_begin, int64_t row_end) {
  const int64_t group_rows = packed ? packed_group_rows(w.type) : 1;
  const int64_t packed_end = packed ? std::min(row_end, w.n_out / group_rows * group_rows) : row_begin;
  const size_t group_bytes = packed ? packed_group_bytes(w.type, w.n_in) : 0;
  const auto out_stride = static_cast<size_t>(w.n_out);
  const int64_t packed_tile = a.n_tokens <= kMaxPackedTileTokens ? kMaxPackedTileTokens : kPackedPromptTileTokens;
  for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kTokenChunk) {
    const int64_t t1 = std::min(a.n_tokens, t0 + kTokenChunk);
    for (int64_t o = row_begin; o < row_end;) {
      const bool in_group = o < packed_end;
      const int64_t tile = in_group ? packed_tile : kMaxTileTokens;
      for (int64_t t = t0; t < t1; t += tile) {
        const int n_tok = static_cast<int>(std::min<int64_t>(tile, t1 - t));
        const uint8_t* act = a.data + static_cast<size_t>(t) * a.row_stride;
        if (in_group) {
          packed(w.packed + static_cast<size_t>(o / group_rows) * group_bytes, act, a.row_stride, w.n_in, n_tok,
                 y + t * w.n_out + o, out_stride);
        } else {
          row_kernel(w.data + static_cast<size_t>(o) * w.row_bytes, act, a.row_stride, w.n_in, n_tok,
                     y + t * w.n_out + o, out_stride);
        }
      }
      o += in_group ? group_rows : 1;
    }
  }
}

}  // namespace

ConvertedActivations convert_activations(GgmlType weight_type, const float* x, int64_t n_in, int64_t n_tokens,
                                         ActivationScratch& scratch, ThreadPool& pool) {
  ConvertedActivations a;
  a.type = vec_dot_type(weight_type);
  a.n_tokens = n_tokens;
  a.n_in = n_in;
  if (a.type == GgmlType::F32) {
    a.data = reinterpret_cast<const uint8_t*>(x);
    a.row_stride = static_cast<size_t>(n_in) * sizeof(float);
    return a;
  }
  a.row_stride = activation_row_bytes(a.type, n_in) + packed_activation_bytes(a.type, n_in);
  uint8_t* out = scratch.get(a.row_stride * static_cast<size_t>(n_tokens));
  auto convert = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      uint8_t* row = out + static_cast<size_t>(t) * a.row_stride;
      quantize_activations(a.type, x + t * n_in, row, n_in);
      add_activation_scales(a.type, row, n_in);
      add_packed_activation_tables(a.type, row, n_in);
    }
  };
  if (n_tokens >= 4 && pool.size() > 1) {
    pool.parallel_for(n_tokens, 1, convert);
  } else {
    convert(0, n_tokens);
  }
  a.data = out;
  return a;
}

void matmul(const WeightMatrix& w, const ConvertedActivations& a, float* y, ThreadPool& pool) {
  TANDEM_CHECK(a.n_in == w.n_in && a.type == vec_dot_type(w.type));
  const RowDotFn kernel = row_dot_kernel(w.type, active_isa_level());
  const int64_t n_out = w.n_out;
  // A few long row ranges per thread rather than many short ones: each range is one sequential
  // stream for the hardware prefetcher, which restarts at every jump (measured: batch-1 decoding
  // 1.6x faster than with 16-row ranges handed out in turn).
  const int64_t per_range = n_out / (4 * static_cast<int64_t>(pool.size()));
  const int64_t grain = std::max(kRowGrain, per_range / kRowGrain * kRowGrain);
  PackedDotFn packed = nullptr;
  if (w.packed) {
    packed = packed_dot_kernel(w.type, active_isa_level());
    TANDEM_CHECK_MSG(packed != nullptr, "matmul: packed weights without a packed kernel");
  }
  pool.parallel_for(n_out, grain, [&](int64_t row_begin, int64_t row_end) {
    matmul_rows(w, a, y, packed, kernel, row_begin, row_end);
  });
}

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ActivationScratch& scratch,
            ThreadPool& pool) {
  matmul(w, convert_activations(w.type, x, w.n_in, n_tokens, scratch, pool), y, pool);
}

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ActivationScratch& scratch) {
  ThreadPool single(1);
  matmul(w, x, y, n_tokens, scratch, single);
}

void get_row(const WeightMatrix& w, int64_t row, float* out) {
  TANDEM_CHECK(row >= 0 && row < w.n_out);
  dequantize_row(w.type, w.data + static_cast<size_t>(row) * w.row_bytes, out, w.n_in);
}

}  // namespace tandem::cpu
