#pragma once
// Reference quantizers of the K-quant super-block formats (internal to quant/; use quantize_row).
// Each takes nb super-blocks of kQK_K floats.

#include <cstdint>

#include "quant/block_layouts.h"

namespace tandem {

void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t nb);
void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t nb);
void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t nb);
void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t nb);
void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t nb);

}  // namespace tandem
