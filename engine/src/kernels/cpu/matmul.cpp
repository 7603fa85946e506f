#include "kernels/cpu/matmul.h"

#include "core/check.h"
#include "kernels/cpu/vec_dot.h"
#include "quant/dequantize.h"
#include "kernels/cpu/quantize_activations.h"

namespace tandem::cpu {

void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ActivationScratch& scratch) {
  const GgmlType act_type = vec_dot_type(w.type);
  const size_t act_row_bytes = ggml_row_size(act_type, w.n_in);
  const uint8_t* act = reinterpret_cast<const uint8_t*>(x);
  if (act_type != GgmlType::F32) {
    uint8_t* converted = scratch.get(act_row_bytes * static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
      quantize_activations(act_type, x + t * w.n_in, converted + static_cast<size_t>(t) * act_row_bytes, w.n_in);
    }
    act = converted;
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    const uint8_t* act_row = act + static_cast<size_t>(t) * act_row_bytes;
    float* y_row = y + t * w.n_out;
    for (int64_t o = 0; o < w.n_out; ++o) {
      y_row[o] = vec_dot(w.type, w.data + static_cast<size_t>(o) * w.row_bytes, act_row, w.n_in);
    }
  }
}

void get_row(const WeightMatrix& w, int64_t row, float* out) {
  TANDEM_CHECK(row >= 0 && row < w.n_out);
  dequantize_row(w.type, w.data + static_cast<size_t>(row) * w.row_bytes, out, w.n_in);
}

}  // namespace tandem::cpu
