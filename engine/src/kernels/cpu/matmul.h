#pragma once
// Matrix multiplication of a weight matrix (any supported type) with a batch of float activations.
// Activations are first converted to the weight type's dot-product format (vec_dot_type), as
// llama.cpp does, so results agree with it to float-order noise.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quant/ggml_type.h"

namespace tandem::cpu {

// A 2-D weight in ggml order: n_out rows, each of n_in values stored contiguously.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
  size_t row_bytes = 0;
};

// Reusable buffer for converted activations: grows on first use, then never reallocates.
class ActivationScratch {
 public:
  uint8_t* get(size_t bytes) {
    if (buffer_.size() < bytes) buffer_.resize(bytes);
    return buffer_.data();
  }

 private:
  std::vector<uint8_t> buffer_;
};

// y[t * n_out + o] = sum_i W[o, i] * x[t * n_in + i] for t < n_tokens.
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ActivationScratch& scratch);

// Dequantizes row `row` of w into out[n_in] (embedding look-up).
void get_row(const WeightMatrix& w, int64_t row, float* out);

}  // namespace tandem::cpu
