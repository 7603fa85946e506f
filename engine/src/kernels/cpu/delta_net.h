#pragma once
// Gated delta rule (Yang et al., "Gated Delta Networks", 2024), the linear attention of
// Qwen3-Next's DeltaNet layers, one head at a time. The state S of a head is a d_v x d_k matrix
// (row-major: row j maps keys to value dimension j), and each token does
//   S = exp(g) * S;   d = beta * (v - S k);   S = S + d k^T;   o = S q
// with g <= 0 the token's log decay and beta in (0, 1) its write strength. q and k come in
// L2-normalised and q already scaled by 1/sqrt(d_k) (as llama.cpp's build_delta_net does).
// delta_net_recurrent runs the recurrence a token at a time (decode); delta_net_chunked computes
// the same outputs and final state a chunk of tokens at a time with matrix products (prompts).

#include <cstdint>

namespace tandem::cpu {

// One head's inputs and outputs over n_tokens tokens; token t's row of each is `stride` floats
// after token t - 1's.
struct DeltaNetHead {
  const float* q;         // [n_tokens, d_k]
  const float* k;         // [n_tokens, d_k]
  int64_t qk_stride;
  const float* v;         // [n_tokens, d_v]
  int64_t v_stride;
  const float* g;         // [n_tokens] log decay
  const float* beta;      // [n_tokens]
  int64_t gb_stride;
  float* out;             // [n_tokens, d_v]
  int64_t out_stride;
};

// Token by token; `state` [d_v, d_k] is read and left as the state after the last token.
void delta_net_recurrent(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state);

// Chunk size of delta_net_chunked (llama.cpp uses 64 too).
constexpr int32_t kDeltaNetChunk = 64;

// Floats of scratch delta_net_chunked needs (per thread), enough for every variant.
int64_t delta_net_chunk_scratch(int32_t chunk, int32_t d_k, int32_t d_v);

// The same result in chunks of `chunk` tokens: within a chunk the tokens' deltas solve one
// lower-triangular system (the WY form of the recurrence), the outputs are two matrix products
// and the state advances once per chunk. `scratch` holds delta_net_chunk_scratch floats.
// Outputs must not overlap the inputs (both kernels).
void delta_net_chunked(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                       int32_t chunk, float* scratch);

// y = x * scale / sqrt(sum(x^2) + eps): L2 normalisation as llama.cpp's build_gdn_l2_norm
// (an RMS norm with eps / n, times 1/sqrt(n)), with an extra scale folded in. x may equal y.
void l2_norm(const float* x, float* y, int64_t n, float eps, float scale);

// y = rms_norm(x) * weight * silu(z) over one row of n (DeltaNet's gated output norm). x may equal y.
void rms_norm_gated(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps);

// In-place activations on n values.
void silu(float* x, int64_t n);
void sigmoid(float* x, int64_t n);

// log(1 + exp(x)), linear above 20 as ggml_softplus.
float softplus(float x);

// The functions above dispatch on active_isa_level() (kernels/cpu/cpu_features.h): the AVX-512
// kernels (delta_net_avx512.cpp) when d_k and d_v are multiples of 16, the AVX2 ones
// (delta_net_avx2.cpp) when they are multiples of 8, else the portable references below. The
// vector kernels differ from the references by float rounding only (vector lanes, fused
// multiply-adds, a vector exp within 2 ulp); tests call each variant directly.
void delta_net_recurrent_scalar(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state);
void delta_net_chunked_scalar(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                              int32_t chunk, float* scratch);
void l2_norm_scalar(const float* x, float* y, int64_t n, float eps, float scale);
void rms_norm_gated_scalar(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps);
void silu_scalar(float* x, int64_t n);
void sigmoid_scalar(float* x, int64_t n);

void delta_net_recurrent_avx512(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state);
void delta_net_chunked_avx512(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                              int32_t chunk, float* scratch);
int64_t delta_net_chunk_scratch_avx512(int32_t chunk, int32_t d_k, int32_t d_v);
void l2_norm_avx512(const float* x, float* y, int64_t n, float eps, float scale);
void rms_norm_gated_avx512(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps);
void silu_avx512(float* x, int64_t n);
void sigmoid_avx512(float* x, int64_t n);

void delta_net_recurrent_avx2(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state);
void delta_net_chunked_avx2(const DeltaNetHead& head, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                            int32_t chunk, float* scratch);
int64_t delta_net_chunk_scratch_avx2(int32_t chunk, int32_t d_k, int32_t d_v);
void l2_norm_avx2(const float* x, float* y, int64_t n, float eps, float scale);
void rms_norm_gated_avx2(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps);
void silu_avx2(float* x, int64_t n);
void sigmoid_avx2(float* x, int64_t n);

}  // namespace tandem::cpu
