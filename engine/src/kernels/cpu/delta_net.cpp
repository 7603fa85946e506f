#include "kernels/cpu/delta_net.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/cpu_features.h"

namespace tandem::cpu {

namespace {

// Dot product in eight independent float lanes (vectorisable without -ffast-math).
float dot(const float* a, const float* b, int64_t n) {
  float lane[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lane[l] += a[i + l] * b[i + l];
  }
  float sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y += a * x
void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

// Which kernels fit heads of these widths on this CPU.
IsaLevel level_for(int32_t d_k, int32_t d_v) {
  const IsaLevel level = active_isa_level();
  if (level >= IsaLevel::kAvx512Vnni && d_k % 16 == 0 && d_v % 16 == 0) return IsaLevel::kAvx512Vnni;
  if (level >= IsaLevel::kAvx2 && d_k % 8 == 0 && d_v % 8 == 0) return IsaLevel::kAvx2;
  return IsaLevel::kScalar;
}

}  // namespace

void delta_net_recurrent(const DeltaNetHead& h, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state) {
  switch (level_for(d_k, d_v)) {
    case IsaLevel::kAvx512Vnni: delta_net_recurrent_avx512(h, n_tokens, d_k, d_v, state); return;
    case IsaLevel::kAvx2: delta_net_recurrent_avx2(h, n_tokens, d_k, d_v, state); return;
    case IsaLevel::kScalar: break;
  }
  delta_net_recurrent_scalar(h, n_tokens, d_k, d_v, state);
}

void delta_net_chunked(const DeltaNetHead& h, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                       int32_t chunk, float* scratch) {
  TANDEM_CHECK(chunk >= 1);
  switch (level_for(d_k, d_v)) {
    case IsaLevel::kAvx512Vnni: delta_net_chunked_avx512(h, n_tokens, d_k, d_v, state, chunk, scratch); return;
    case IsaLevel::kAvx2: delta_net_chunked_avx2(h, n_tokens, d_k, d_v, state, chunk, scratch); return;
    case IsaLevel::kScalar: break;
  }
  delta_net_chunked_scalar(h, n_tokens, d_k, d_v, state, chunk, scratch);
}

int64_t delta_net_chunk_scratch(int32_t chunk, int32_t d_k, int32_t d_v) {
  const int64_t scalar = static_cast<int64_t>(chunk) * (1 + static_cast<int64_t>(d_v));
  // The vector kernels' layouts are computed by the kernels themselves (they pad to their width);
  // the AVX-512 one pads most.
  return std::max({scalar, delta_net_chunk_scratch_avx512(chunk, d_k, d_v), delta_net_chunk_scratch_avx2(chunk, d_k, d_v)});
}

void l2_norm(const float* x, float* y, int64_t n, float eps, float scale) {
  switch (active_isa_level()) {  // the vector row kernels finish any tail themselves
    case IsaLevel::kAvx512Vnni: l2_norm_avx512(x, y, n, eps, scale); return;
    case IsaLevel::kAvx2: l2_norm_avx2(x, y, n, eps, scale); return;
    case IsaLevel::kScalar: break;
  }
  l2_norm_scalar(x, y, n, eps, scale);
}

void rms_norm_gated(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps) {
  switch (active_isa_level()) {  // the vector row kernels finish any tail themselves
    case IsaLevel::kAvx512Vnni: rms_norm_gated_avx512(x, weight, z, y, n, eps); return;
    case IsaLevel::kAvx2: rms_norm_gated_avx2(x, weight, z, y, n, eps); return;
    case IsaLevel::kScalar: break;
  }
  rms_norm_gated_scalar(x, weight, z, y, n, eps);
}

void silu(float* x, int64_t n) {
  switch (active_isa_level()) {  // the vector row kernels finish any tail themselves
    case IsaLevel::kAvx512Vnni: silu_avx512(x, n); return;
    case IsaLevel::kAvx2: silu_avx2(x, n); return;
    case IsaLevel::kScalar: break;
  }
  silu_scalar(x, n);
}

void sigmoid(float* x, int64_t n) {
  switch (active_isa_level()) {  // the vector row kernels finish any tail themselves
    case IsaLevel::kAvx512Vnni: sigmoid_avx512(x, n); return;
    case IsaLevel::kAvx2: sigmoid_avx2(x, n); return;
    case IsaLevel::kScalar: break;
  }
  sigmoid_scalar(x, n);
}

void delta_net_recurrent_scalar(const DeltaNetHead& h, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state) {
  for (int32_t t = 0; t < n_tokens; ++t) {
    const float* q = h.q + t * h.qk_stride;
    const float* k = h.k + t * h.qk_stride;
    const float* v = h.v + t * h.v_stride;
    const float decay = std::exp(h.g[t * h.gb_stride]);
    const float beta = h.beta[t * h.gb_stride];
    float* out = h.out + t * h.out_stride;
    // Each row of S only meets the same row's value: one pass decays, reads S k, writes the
    // delta and reads S q.
    for (int32_t j = 0; j < d_v; ++j) {
      float* row = state + static_cast<int64_t>(j) * d_k;
      for (int32_t i = 0; i < d_k; ++i) row[i] *= decay;
      const float delta = (v[j] - dot(row, k, d_k)) * beta;
      axpy(delta, k, row, d_k);
      out[j] = dot(row, q, d_k);
    }
  }
}

// Within a chunk starting from state S0, with G_t = sum of g up to and including t (so that the
// decay from token j to token t is exp(G_t - G_j) <= 1), unrolling the recurrence gives
//   S_t   = exp(G_t) S0 + sum_{j<=t} exp(G_t - G_j) d_j k_j^T
//   d_t   = beta_t (v_t - exp(G_t) S0 k_t) - beta_t sum_{j<t} exp(G_t - G_j) (k_t . k_j) d_j
//   o_t   = exp(G_t) S0 q_t + sum_{j<=t} exp(G_t - G_j) (q_t . k_j) d_j
// The deltas are a unit lower-triangular solve (forward substitution), the rest are products
// with S0 and among the chunk's keys and queries. Only differences G_t - G_j <= 0 are
// exponentiated, so nothing overflows however strong the decay.
void delta_net_chunked_scalar(const DeltaNetHead& h, int32_t n_tokens, int32_t d_k, int32_t d_v, float* state,
                              int32_t chunk, float* scratch) {
  TANDEM_CHECK(chunk >= 1);
  float* cum_g = scratch;           // [chunk]
  float* delta = scratch + chunk;   // [chunk, d_v]
  for (int32_t t0 = 0; t0 < n_tokens; t0 += chunk) {
    const int32_t n = std::min(chunk, n_tokens - t0);
    const float* q = h.q + t0 * h.qk_stride;
    const float* k = h.k + t0 * h.qk_stride;
    const float* v = h.v + t0 * h.v_stride;
    float* out = h.out + t0 * h.out_stride;
    float g_sum = 0.0f;
    for (int32_t t = 0; t < n; ++t) {
      g_sum += h.g[(t0 + t) * h.gb_stride];
      cum_g[t] = g_sum;
    }
    // What S0 contributes: the right-hand side of the deltas and the first term of the outputs.
    for (int32_t t = 0; t < n; ++t) {
      const float decay = std::exp(cum_g[t]);
      const float beta = h.beta[(t0 + t) * h.gb_stride];
      const float* qt = q + t * h.qk_stride;
      const float* kt = k + t * h.qk_stride;
      const float* vt = v + t * h.v_stride;
      float* dt = delta + static_cast<int64_t>(t) * d_v;
      float* ot = out + t * h.out_stride;
      for (int32_t j = 0; j < d_v; ++j) {
        const float* row = state + static_cast<int64_t>(j) * d_k;
        dt[j] = beta * (vt[j] - decay * dot(row, kt, d_k));
        ot[j] = decay * dot(row, qt, d_k);
      }
    }
    // Forward substitution: each delta removes what the chunk's earlier deltas already wrote
    // along its key.
    for (int32_t t = 1; t < n; ++t) {
      const float beta = h.beta[(t0 + t) * h.gb_stride];
      const float* kt = k + t * h.qk_stride;
      float* dt = delta + static_cast<int64_t>(t) * d_v;
      for (int32_t j = 0; j < t; ++j) {
        const float a = beta * std::exp(cum_g[t] - cum_g[j]) * dot(kt, k + j * h.qk_stride, d_k);
        axpy(-a, delta + static_cast<int64_t>(j) * d_v, dt, d_v);
      }
    }
    // Outputs: what the chunk's own deltas add, seen through each query.
    for (int32_t t = 0; t < n; ++t) {
      const float* qt = q + t * h.qk_stride;
      float* ot = out + t * h.out_stride;
      for (int32_t j = 0; j <= t; ++j) {
        const float a = std::exp(cum_g[t] - cum_g[j]) * dot(qt, k + j * h.qk_stride, d_k);
        axpy(a, delta + static_cast<int64_t>(j) * d_v, ot, d_v);
      }
    }
    // The state after the chunk.
    const float last = cum_g[n - 1];
    const float decay_all = std::exp(last);
    for (int32_t t = 0; t < n; ++t) cum_g[t] = std::exp(last - cum_g[t]);
    for (int32_t j = 0; j < d_v; ++j) {
      float* row = state + static_cast<int64_t>(j) * d_k;
      for (int32_t i = 0; i < d_k; ++i) row[i] *= decay_all;
      for (int32_t t = 0; t < n; ++t) {
        axpy(cum_g[t] * delta[static_cast<int64_t>(t) * d_v + j], k + t * h.qk_stride, row, d_k);
      }
    }
  }
}

void l2_norm_scalar(const float* x, float* y, int64_t n, float eps, float scale) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float factor = scale / std::sqrt(static_cast<float>(sum) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * factor;
}

void rms_norm_gated_scalar(const float* x, const float* weight, const float* z, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float factor = 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float gate = z[i] / (1.0f + std::exp(-z[i]));
    y[i] = x[i] * factor * weight[i] * gate;
  }
}

void silu_scalar(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-x[i]));
}

void sigmoid_scalar(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

float softplus(float x) { return x > 20.0f ? x : std::log(1.0f + std::exp(x)); }

}  // namespace tandem::cpu
