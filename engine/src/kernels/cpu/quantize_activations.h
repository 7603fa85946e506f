#pragma once
// Conversion of float activations into the dot-product format of a weight type (vec_dot_type).
//
// For Q8_0 and Q8_1 this follows llama.cpp's x86 kernels rather than ggml's reference quantizer:
// the inverse scale is 127/amax (not 1/(amax/127)) and ties round to even. The two differ in the
// last bit of a few values per row, and an 8-bit activation that rounds the other way moves the
// logits of a Q4 model by tenths after 30 layers; matching the kernels llama.cpp actually runs
// keeps Tandem's answers token-for-token equal to it. Other types use the reference quantizer.

#include <cstdint>

#include "quant/ggml_type.h"

namespace tandem::cpu {

// n floats at x into ggml_row_size(type, n) bytes at dst; type is a vec_dot_type. Uses the
// AVX-512 version where the CPU has it (bit-identical).
void quantize_activations(GgmlType type, const float* x, void* dst, int64_t n);

// The scalar version, the reference for the SIMD one.
void quantize_activations_scalar(GgmlType type, const float* x, void* dst, int64_t n);

// Q8_0, Q8_1 and Q8_K with AVX-512 (quantize_activations_avx512.cpp); false for other types.
// Call only when active_isa_level() allows it.
bool quantize_activations_avx512(GgmlType type, const float* x, void* dst, int64_t n);

}  // namespace tandem::cpu
