#pragma once
// Matrix multiplication of a weight matrix (any supported type) with a batch of float activations.
// Activations are first converted to the weight type's dot-product format (vec_dot_type), as
// llama.cpp does, so results agree with it to float-order noise.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "quant/ggml_type.h"

namespace tandem::cpu {

// A 2-D weight in ggml order: n_out rows, each of n_in values stored contiguously.
struct WeightMatrix {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t n_in = 0;
  int64_t n_out = 0;
  size_t row_bytes = 0;
  // The first n_out / packed_group_rows(type) groups of rows repacked for the packed kernels
  // (packed_weights.h), or null. Rows past them, and get_row, read data.
  const uint8_t* packed = nullptr;
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

// Activations converted once for every matrix that reads them (Q, K and V share their input, as
// do gate and up): holds n_tokens rows of vec_dot_type(type) data, row_stride bytes apart.
struct ConvertedActivations {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  size_t row_stride = 0;
  int64_t n_tokens = 0;
  int64_t n_in = 0;
};

// Converts x[n_tokens, n_in] for weights of type weight_type into scratch (rows in parallel).
ConvertedActivations convert_activations(GgmlType weight_type, const float* x, int64_t n_in, int64_t n_tokens,
                                         ActivationScratch& scratch, ThreadPool& pool);

// y[t * n_out + o] = sum_i W[o, i] * x[t * n_in + i] for t < n_tokens, output rows split across
// the pool's threads. a must come from convert_activations for this weight type and n_in.
void matmul(const WeightMatrix& w, const ConvertedActivations& a, float* y, ThreadPool& pool);

// Convenience forms: convert, then multiply.
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ActivationScratch& scratch,
            ThreadPool& pool);
void matmul(const WeightMatrix& w, const float* x, float* y, int64_t n_tokens, ActivationScratch& scratch);

// Dequantizes row `row` of w into out[n_in] (embedding look-up).
void get_row(const WeightMatrix& w, int64_t row, float* out);

}  // namespace tandem::cpu
