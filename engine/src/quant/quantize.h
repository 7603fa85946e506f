#pragma once
// Reference quantizers: float rows into ggml block formats. They follow ggml's quantize_row_*_ref
// algorithms step for step (same scale search, same rounding, same fp16 scale conversion), so a row
// quantized here is bit-identical to llama.cpp's (and to the gguf Python package where it implements
// the type). These are the scalar references; faster versions must match them.

#include <cstdint>

#include "quant/ggml_type.h"

namespace tandem {

// Whether quantize_row handles this type: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
bool quantize_row_supported(GgmlType type);

// Quantizes n floats (a multiple of the type's block size, checked) into ggml_row_size(type, n)
// bytes at dst. The input must be finite. Unsupported types fail a TANDEM_CHECK.
void quantize_row(GgmlType type, const float* src, void* dst, int64_t n);

}  // namespace tandem
