#include "kernels/cpu/delta_net.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tandem::cpu {
namespace {

// Inputs of one head over n tokens, with L2-normalised keys and queries as the layer feeds them.
struct HeadData {
  int32_t n, d_k, d_v;
  std::vector<float> q, k, v, g, beta;

  HeadData(int32_t n_tokens, int32_t dk, int32_t dv, uint32_t seed, float g_scale = 1.0f)
      : n(n_tokens), d_k(dk), d_v(dv), q(static_cast<size_t>(n) * dk), k(q.size()), v(static_cast<size_t>(n) * dv),
        g(static_cast<size_t>(n)), beta(g.size()) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (float& x : q) x = normal(gen);
    for (float& x : k) x = normal(gen);
    for (float& x : v) x = normal(gen);
    for (int32_t t = 0; t < n; ++t) {
      l2_norm(&q[static_cast<size_t>(t) * d_k], &q[static_cast<size_t>(t) * d_k], d_k, 1e-6f,
              1.0f / std::sqrt(static_cast<float>(d_k)));
      l2_norm(&k[static_cast<size_t>(t) * d_k], &k[static_cast<size_t>(t) * d_k], d_k, 1e-6f, 1.0f);
      g[static_cast<size_t>(t)] = -g_scale * unit(gen);
      beta[static_cast<size_t>(t)] = unit(gen);
    }
  }

  DeltaNetHead head(float* out, int32_t from = 0) const {
    return {q.data() + static_cast<size_t>(from) * d_k, k.data() + static_cast<size_t>(from) * d_k, d_k,
            v.data() + static_cast<size_t>(from) * d_v, d_v, g.data() + from, beta.data() + from, 1,
            out + static_cast<size_t>(from) * d_v, d_v};
  }
};

// The textbook recurrence in double with the state as d_k x d_v (the paper's orientation):
//   S = exp(g) S;  S = S + beta k (v - S^T k)^T;  o = S^T q.
void naive(const HeadData& h, std::vector<double>& state_kv, std::vector<double>& out) {
  out.assign(static_cast<size_t>(h.n) * h.d_v, 0.0);
  for (int32_t t = 0; t < h.n; ++t) {
    const float* q = &h.q[static_cast<size_t>(t) * h.d_k];
    const float* k = &h.k[static_cast<size_t>(t) * h.d_k];
    const float* v = &h.v[static_cast<size_t>(t) * h.d_v];
    const double decay = std::exp(static_cast<double>(h.g[static_cast<size_t>(t)]));
    for (double& s : state_kv) s *= decay;
    for (int32_t j = 0; j < h.d_v; ++j) {
      double sk = 0;
      for (int32_t i = 0; i < h.d_k; ++i) sk += state_kv[static_cast<size_t>(i) * h.d_v + j] * k[i];
      const double delta = h.beta[static_cast<size_t>(t)] * (v[j] - sk);
      for (int32_t i = 0; i < h.d_k; ++i) state_kv[static_cast<size_t>(i) * h.d_v + j] += k[i] * delta;
    }
    for (int32_t j = 0; j < h.d_v; ++j) {
      double o = 0;
      for (int32_t i = 0; i < h.d_k; ++i) o += state_kv[static_cast<size_t>(i) * h.d_v + j] * q[i];
      out[static_cast<size_t>(t) * h.d_v + j] = o;
    }
  }
}

std::vector<float> random_state(int32_t d_k, int32_t d_v, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> s(static_cast<size_t>(d_k) * d_v);
  for (float& x : s) x = normal(gen);
  return s;
}

// The kernels' [d_v, d_k] state as the naive [d_k, d_v] one.
std::vector<double> transposed(const std::vector<float>& s, int32_t d_k, int32_t d_v) {
  std::vector<double> t(s.size());
  for (int32_t j = 0; j < d_v; ++j) {
    for (int32_t i = 0; i < d_k; ++i) t[static_cast<size_t>(i) * d_v + j] = s[static_cast<size_t>(j) * d_k + i];
  }
  return t;
}

template <typename A, typename B>
double max_abs_diff(const A& a, const B& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(d <= worst)) worst = d;  // NaN sticks
  }
  return worst;
}

void run_chunked(const HeadData& h, std::vector<float>& state, std::vector<float>& out, int32_t chunk, int32_t from,
                 int32_t count) {
  std::vector<float> scratch(static_cast<size_t>(delta_net_chunk_scratch(chunk, h.d_k, h.d_v)));
  delta_net_chunked(h.head(out.data(), from), count, h.d_k, h.d_v, state.data(), chunk, scratch.data());
}

TEST(DeltaNet, RecurrentMatchesTheTextbookRecurrence) {
  const HeadData h(37, 16, 24, 1);
  std::vector<float> state = random_state(16, 24, 2);
  std::vector<double> ref_state = transposed(state, 16, 24);
  std::vector<double> ref_out;
  naive(h, ref_state, ref_out);
  std::vector<float> out(ref_out.size());
  delta_net_recurrent(h.head(out.data()), h.n, h.d_k, h.d_v, state.data());
  EXPECT_LT(max_abs_diff(out, ref_out), 1e-5);
  EXPECT_LT(max_abs_diff(transposed(state, 16, 24), ref_state), 1e-5);
}

TEST(DeltaNet, ChunkedMatchesRecurrentForAnyLengthAndChunk) {
  for (int32_t n : {1, 2, 7, 63, 64, 65, 129, 200}) {
    for (int32_t chunk : {1, 3, 16, 64}) {
      const HeadData h(n, 32, 32, static_cast<uint32_t>(n * 100 + chunk));
      std::vector<float> s_rec = random_state(32, 32, 5);
      std::vector<float> s_chunk = s_rec;
      std::vector<float> o_rec(static_cast<size_t>(n) * 32), o_chunk(o_rec.size());
      delta_net_recurrent(h.head(o_rec.data()), n, 32, 32, s_rec.data());
      run_chunked(h, s_chunk, o_chunk, chunk, 0, n);
      EXPECT_LT(max_abs_diff(o_chunk, o_rec), 2e-5) << "n=" << n << " chunk=" << chunk;
      EXPECT_LT(max_abs_diff(s_chunk, s_rec), 2e-5) << "n=" << n << " chunk=" << chunk;
    }
  }
}

TEST(DeltaNet, ChunkedAcrossCallsMatchesOneCall) {
  // A prompt split anywhere (a chunk boundary or not) continues from the state it left.
  const int32_t n = 150;
  const HeadData h(n, 16, 8, 9);
  std::vector<float> s_whole(16 * 8, 0.0f);
  std::vector<float> o_whole(static_cast<size_t>(n) * 8);
  run_chunked(h, s_whole, o_whole, kDeltaNetChunk, 0, n);
  for (int32_t split : {1, 17, 64, 100, 149}) {
    std::vector<float> s(16 * 8, 0.0f);
    std::vector<float> o(o_whole.size());
    run_chunked(h, s, o, kDeltaNetChunk, 0, split);
    // The rest goes one token at a time for the first few (decode), then chunked again.
    const int32_t decode = std::min(3, n - split);
    delta_net_recurrent(h.head(o.data(), split), decode, 16, 8, s.data());
    run_chunked(h, s, o, kDeltaNetChunk, split + decode, n - split - decode);
    EXPECT_LT(max_abs_diff(o, o_whole), 2e-5) << "split=" << split;
    EXPECT_LT(max_abs_diff(s, s_whole), 2e-5) << "split=" << split;
  }
}

TEST(DeltaNet, StrongDecayStaysFinite) {
  // Log decays of -50 a token underflow exp of the chunk's cumulative sum; only differences are
  // exponentiated, so outputs stay finite and match the recurrence.
  const HeadData h(100, 16, 16, 11, 50.0f);
  std::vector<float> s_rec = random_state(16, 16, 3);
  std::vector<float> s_chunk = s_rec;
  std::vector<float> o_rec(100 * 16), o_chunk(o_rec.size());
  delta_net_recurrent(h.head(o_rec.data()), 100, 16, 16, s_rec.data());
  run_chunked(h, s_chunk, o_chunk, kDeltaNetChunk, 0, 100);
  EXPECT_LT(max_abs_diff(o_chunk, o_rec), 1e-5);
  EXPECT_LT(max_abs_diff(s_chunk, s_rec), 1e-5);
}

TEST(DeltaNet, StridedRowsAreHonoured) {
  // The layer hands rows of a wider token-major buffer: stride > width must not be read as data.
  const int32_t n = 20, d = 8;
  const HeadData h(n, d, d, 4);
  std::vector<float> wide_q(static_cast<size_t>(n) * 3 * d, 1e6f), wide_k(wide_q), wide_v(wide_q);
  std::vector<float> wide_gb(static_cast<size_t>(n) * 2, 1e6f), wide_beta(wide_gb);
  for (int32_t t = 0; t < n; ++t) {
    for (int32_t i = 0; i < d; ++i) {
      wide_q[static_cast<size_t>(t) * 3 * d + i] = h.q[static_cast<size_t>(t) * d + i];
      wide_k[static_cast<size_t>(t) * 3 * d + i] = h.k[static_cast<size_t>(t) * d + i];
      wide_v[static_cast<size_t>(t) * 3 * d + i] = h.v[static_cast<size_t>(t) * d + i];
    }
    wide_gb[static_cast<size_t>(t) * 2] = h.g[static_cast<size_t>(t)];
    wide_beta[static_cast<size_t>(t) * 2] = h.beta[static_cast<size_t>(t)];
  }
  std::vector<float> o_ref(static_cast<size_t>(n) * d), s_ref(static_cast<size_t>(d) * d, 0.0f);
  delta_net_recurrent(h.head(o_ref.data()), n, d, d, s_ref.data());
  std::vector<float> o(static_cast<size_t>(n) * 2 * d, 0.0f), s(s_ref.size(), 0.0f);
  const DeltaNetHead wide{wide_q.data(), wide_k.data(), 3 * d, wide_v.data(), 3 * d, wide_gb.data(),
                          wide_beta.data(), 2, o.data(), 2 * d};
  std::vector<float> scratch(static_cast<size_t>(delta_net_chunk_scratch(8, d, d)));
  delta_net_chunked(wide, n, d, d, s.data(), 8, scratch.data());
  for (int32_t t = 0; t < n; ++t) {
    for (int32_t i = 0; i < d; ++i) {
      EXPECT_NEAR(o[static_cast<size_t>(t) * 2 * d + i], o_ref[static_cast<size_t>(t) * d + i], 1e-5);
    }
  }
  EXPECT_LT(max_abs_diff(s, s_ref), 1e-5);
}

TEST(DeltaNetOps, L2NormGatedNormAndActivations) {
  std::vector<float> x = {3.0f, 4.0f};
  l2_norm(x.data(), x.data(), 2, 0.0f, 2.0f);
  EXPECT_FLOAT_EQ(x[0], 1.2f);
  EXPECT_FLOAT_EQ(x[1], 1.6f);

  const std::vector<float> a = {1.0f, -2.0f, 3.0f, 0.5f};
  const std::vector<float> w = {1.0f, 0.5f, 2.0f, -1.0f};
  const std::vector<float> z = {0.0f, 1.0f, -3.0f, 10.0f};
  std::vector<float> y(4);
  rms_norm_gated(a.data(), w.data(), z.data(), y.data(), 4, 1e-6f);
  double ms = 0;
  for (float v : a) ms += v * v / 4.0;
  for (size_t i = 0; i < 4; ++i) {
    const double silu_z = z[i] / (1.0 + std::exp(-static_cast<double>(z[i])));
    EXPECT_NEAR(y[i], a[i] / std::sqrt(ms + 1e-6) * w[i] * silu_z, 1e-5);
  }

  std::vector<float> s = {0.0f, 2.0f};
  sigmoid(s.data(), 2);
  EXPECT_FLOAT_EQ(s[0], 0.5f);
  EXPECT_NEAR(s[1], 1.0 / (1.0 + std::exp(-2.0)), 1e-6);
  std::vector<float> si = {0.0f, -1.0f};
  silu(si.data(), 2);
  EXPECT_FLOAT_EQ(si[0], 0.0f);
  EXPECT_NEAR(si[1], -1.0 / (1.0 + std::exp(1.0)), 1e-6);
  EXPECT_NEAR(softplus(0.0f), std::log(2.0), 1e-6);
  EXPECT_FLOAT_EQ(softplus(30.0f), 30.0f);
}

}  // namespace
}  // namespace tandem::cpu
