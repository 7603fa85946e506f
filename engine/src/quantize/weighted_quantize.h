#pragma once
// Importance-weighted quantizers: the same block formats as quant/quantize.h, but each block's
// scales are chosen to minimise sum_j w_j (x_j - q(x_j))^2, where w_j grows with the column's
// importance (the mean squared activation that multiplies it, from an imatrix) and with |x_j|.
//
// Without importance the reference quantizers run unchanged, so a file made without an imatrix is
// bit-identical to llama-quantize's. With importance the output is Tandem's own search (not
// bit-identical to llama.cpp's, which uses a different search), in the same formats.
//
// Weighted search is implemented for Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K; other types
// (F16, BF16, Q8_0, whose error is already tiny, and Q2_K, Q3_K) ignore the importance.

#include <cstdint>

#include "quant/ggml_type.h"

namespace tandem::quantize {

// Whether `type` uses importance when given some.
bool uses_importance(GgmlType type);

// Quantizes one row of n values (a multiple of the block size, checked) into ggml_row_size(type, n)
// bytes. importance: n non-negative values for the row's columns, or null.
void quantize_row_weighted(GgmlType type, const float* x, void* dst, int64_t n, const float* importance);

}  // namespace tandem::quantize
