#pragma once
// Depthwise causal 1-D convolution over time with a rolling state: the "short convolution" in
// front of gated DeltaNet (Qwen3-Next) and Mamba layers. Matches ggml_ssm_conv, with the state
// kept here as the last d_conv - 1 inputs of the sequence.

#include <cstdint>

namespace tandem::cpu {

// For each token t and channel c:
//   y[t][c] = sum_{i < d_conv} window(t)[i][c] * weight[c][i]
// where window(t) is the d_conv inputs ending at token t, the earlier ones taken from `state`.
// x, y: [n_tokens rows, x_stride / y_stride floats apart] of n_channels; weight: [n_channels, d_conv];
// state: [d_conv - 1, n_channels], oldest input first, zero for a new sequence; on return it holds
// the last d_conv - 1 inputs (state and the tail of x). Channels [c_begin, c_end) only, so that
// threads can split them. x and y may not overlap.
void causal_conv1d(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                   float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin, int64_t c_end);

// The portable reference, and the vector kernels causal_conv1d dispatches to (active_isa_level()):
// those do whole vectors of channels from c_begin on and return where they stopped, for the
// reference to finish; they give the reference's bits (the same products and sums in order).
void causal_conv1d_scalar(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                          float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin,
                          int64_t c_end);
constexpr int32_t kMaxConvVector = 16;  // widest kernel the vector versions take
int64_t causal_conv1d_avx512(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                             float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin,
                             int64_t c_end);
int64_t causal_conv1d_avx2(const float* x, int64_t x_stride, int32_t n_tokens, const float* weight, int32_t d_conv,
                           float* state, int64_t n_channels, float* y, int64_t y_stride, int64_t c_begin,
                           int64_t c_end);

}  // namespace tandem::cpu
