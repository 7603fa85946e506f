#pragma once
// Row-wise elementwise kernels on float buffers. Shapes are given in the arguments;
// no kernel allocates.

#include <cstdint>

namespace tandem::cpu {

// y = x / sqrt(mean(x^2) + eps) * weight, over one row of n values (weight may be null).
// The sum of squares is accumulated in double, as ggml does, so results match llama.cpp closely.
void rms_norm(const float* x, const float* weight, float* y, int64_t n, float eps);

// The AVX-512 form of rms_norm (elementwise_avx512.cpp); call only when active_isa_level() allows it.
void rms_norm_avx512(const float* x, const float* weight, float* y, int64_t n, float eps);

// x += y
void add(float* x, const float* y, int64_t n);

// gate = silu(gate) * up  (SwiGLU feed-forward). With AVX-512 the exp is a vector polynomial
// within 2 ulp of expf.
void silu_mul(float* gate, const float* up, int64_t n);

// The AVX-512 part of silu_mul (elementwise_avx512.cpp): handles a multiple of 16 values and
// returns how many. Call only when active_isa_level() allows it.
int64_t silu_mul_avx512(float* gate, const float* up, int64_t n);

// gate = gelu_tanh(gate) * up  (GeGLU feed-forward, gemma); the GELU is evaluated at F16
// precision, as llama.cpp does, and saturates outside [-10, 10].
void gelu_mul(float* gate, const float* up, int64_t n);

// x *= s
void scale(float* x, float s, int64_t n);

// In-place softmax over n values; returns nothing, entries of -inf become 0.
void softmax(float* x, int64_t n);

}  // namespace tandem::cpu
