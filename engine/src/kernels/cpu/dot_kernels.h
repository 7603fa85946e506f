#pragma once
// The dot-product kernels matmul runs, chosen once per weight type by CPU features.
//
// A row kernel takes one weight row and up to kMaxTileTokens activation rows (already converted
// to vec_dot_type of the weight type) and writes one dot product per activation row. Taking
// several activations at once lets the SIMD kernels unpack each weight block once and use it for
// all of them, which is what makes prompt processing compute-bound instead of unpack-bound.
//
// Every SIMD kernel computes the same integer block sums as the scalar reference in vec_dot.h;
// only the order of the float additions differs (float-order noise, tested in
// tests/unit/kernels/dot_kernels_test.cpp).

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/cpu_features.h"
#include "quant/ggml_type.h"

namespace tandem::cpu {

inline constexpr int kMaxTileTokens = 4;

// out[t * out_stride] = w_row . (act + t * act_stride) for t < n_tok, 1 <= n_tok <= kMaxTileTokens.
// n counts values (a multiple of the weight type's block size).
using RowDotFn = void (*)(const void* w_row, const uint8_t* act, size_t act_stride, int64_t n, int n_tok, float* out,
                          size_t out_stride);

// Bytes of one activation row as the row kernels take it: the vec_dot_type blocks, then (for
// Q8_0 and Q8_1, whose block scales are F16) 64-byte aligned tables: a float copy of every
// block's d, for Q8_1 of its s, and -8 x the exact int32 sum of every block's quants. The tables
// spare the kernels an F16 conversion per block and weight row; the sums let the packed kernels
// undo their unsigned weight offset (8 for Q4_0, twice that for Q5_0) starting from a broadcast
// load. The scalar references ignore them.
size_t activation_row_bytes(GgmlType act_type, int64_t n);

// Fills the tables of a row whose blocks are already written (no-op for other types).
void add_activation_scales(GgmlType act_type, uint8_t* row, int64_t n);

// Where those tables start in a row: d for block b at float [b], then Q8_1's s at float
// [n_blocks + b], then -8 x the sum at int32 [k * n_blocks + b] with k = 1 for Q8_0 and 2 for Q8_1.
size_t activation_scales_offset(GgmlType act_type, int64_t n);

// The kernel for a weight type at an ISA level (the scalar reference where that level has no
// kernel for the type). Fails a TANDEM_CHECK for types without a dot product.
RowDotFn row_dot_kernel(GgmlType weight_type, IsaLevel level);

// Per-ISA tables; null where the ISA has no kernel of its own for the type. Defined in
// vec_dot_avx2.cpp and vec_dot_avx512.cpp, which are compiled for their instruction sets and
// must only be called when active_isa_level() allows it.
RowDotFn row_dot_kernel_avx2(GgmlType weight_type);
RowDotFn row_dot_kernel_avx512(GgmlType weight_type);

}  // namespace tandem::cpu
