#pragma once
// Dot products of one weight row with one activation row, the inner loop of every matmul.
// As in ggml, the activation is first quantized (quantize_row) to a companion format of the weight
// type, and the dot product then works on integers within each block and scales once per block.
// The scalar functions below compute exactly what ggml's generic (non-SIMD) vec_dot functions do,
// in the same order, so results match llama.cpp's; optimised kernels must be tested against them.

#include <cstdint>

#include "quant/block_layouts.h"
#include "quant/ggml_type.h"

namespace tandem {

// The activation format ggml pairs with a weight type: F32 -> F32, F16 -> F16, BF16 -> BF16,
// Q4_0 / Q5_0 / Q8_0 -> Q8_0, Q4_1 / Q5_1 -> Q8_1, Q2_K .. Q6_K -> Q8_K. Q8_1 and Q8_K pair with
// themselves (not used by ggml as weights; handy for tests). Other types fail a TANDEM_CHECK.
GgmlType vec_dot_type(GgmlType weight_type);

// sum_i w[i] * a[i] over n values (a multiple of the weight's block size, checked). activation_row
// holds ggml_row_size(vec_dot_type(weight_type), n) bytes produced by quantize_row.
float vec_dot(GgmlType weight_type, const void* weight_row, const void* activation_row, int64_t n);

// Scalar references, one per (weight, activation) pair; n counts values. Float rows accumulate in
// double, as ggml's scalar path does.
float vec_dot_f32_scalar(const float* x, const float* y, int64_t n);
float vec_dot_f16_scalar(const uint16_t* x, const uint16_t* y, int64_t n);
float vec_dot_bf16_scalar(const uint16_t* x, const uint16_t* y, int64_t n);
float vec_dot_q4_0_q8_0_scalar(const BlockQ4_0* x, const BlockQ8_0* y, int64_t n);
float vec_dot_q4_1_q8_1_scalar(const BlockQ4_1* x, const BlockQ8_1* y, int64_t n);
float vec_dot_q5_0_q8_0_scalar(const BlockQ5_0* x, const BlockQ8_0* y, int64_t n);
float vec_dot_q5_1_q8_1_scalar(const BlockQ5_1* x, const BlockQ8_1* y, int64_t n);
float vec_dot_q8_0_q8_0_scalar(const BlockQ8_0* x, const BlockQ8_0* y, int64_t n);
float vec_dot_q8_1_q8_1_scalar(const BlockQ8_1* x, const BlockQ8_1* y, int64_t n);
float vec_dot_q2_k_q8_k_scalar(const BlockQ2_K* x, const BlockQ8_K* y, int64_t n);
float vec_dot_q3_k_q8_k_scalar(const BlockQ3_K* x, const BlockQ8_K* y, int64_t n);
float vec_dot_q4_k_q8_k_scalar(const BlockQ4_K* x, const BlockQ8_K* y, int64_t n);
float vec_dot_q5_k_q8_k_scalar(const BlockQ5_K* x, const BlockQ8_K* y, int64_t n);
float vec_dot_q6_k_q8_k_scalar(const BlockQ6_K* x, const BlockQ8_K* y, int64_t n);
float vec_dot_q8_k_q8_k_scalar(const BlockQ8_K* x, const BlockQ8_K* y, int64_t n);

}  // namespace tandem
