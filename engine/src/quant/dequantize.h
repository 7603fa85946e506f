#pragma once
// Block formats back to floats, computed exactly as ggml's dequantize_row_* (same float operation
// order), so results are bit-identical to llama.cpp and to the gguf Python package.

#include <cstdint>

#include "quant/ggml_type.h"

namespace tandem {

// Whether dequantize_row handles this type (the same set as quantize_row_supported).
bool dequantize_row_supported(GgmlType type);

// Expands n values (a multiple of the type's block size, checked) from ggml_row_size(type, n) bytes
// at src into dst. Unsupported types fail a TANDEM_CHECK.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

}  // namespace tandem
