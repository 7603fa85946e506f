// The vector DeltaNet and causal-convolution kernels against the portable references, on every
// instruction set this CPU has (delta_net_test.cpp checks the references against the textbook
// recurrence). Tolerance: the vector kernels reorder float sums (lanes, fused multiply-adds) and use
// a vector exp within 2 ulp, so their results differ from the references by rounding only. With
// unit-norm keys, outputs and states of order one, a head of width 128 and chunks of 64 tokens, that
// noise stays below 1e-5 of the largest value (kTolerance; the worst measured here is 1.2e-6); an error in
// the algebra (a missed term, a wrong decay) is of the order of the values themselves.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/causal_conv1d.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/delta_net.h"

namespace tandem::cpu {
namespace {

constexpr double kTolerance = 1e-5;

struct Variant {
  std::string name;
  int width;  // head widths must be multiples of this
  std::function<void(const DeltaNetHead&, int32_t, int32_t, int32_t, float*)> recurrent;
  std::function<void(const DeltaNetHead&, int32_t, int32_t, int32_t, float*, int32_t, float*)> chunked;
  std::function<void(const float*, float*, int64_t, float, float)> l2;
  std::function<void(const float*, const float*, const float*, float*, int64_t, float)> gated;
  std::function<void(float*, int64_t)> silu_fn, sigmoid_fn;
  std::function<int64_t(const float*, int64_t, int32_t, const float*, int32_t, float*, int64_t, float*, int64_t,
                        int64_t, int64_t)>
      conv;
};

// The vector variants this CPU can run (none on a CPU without AVX2: the tests then pass vacuously).
std::vector<Variant> variants() {
  std::vector<Variant> v;
  const IsaLevel best = best_isa_level();
  if (best >= IsaLevel::kAvx2) {
    v.push_back({"avx2", 8, delta_net_recurrent_avx2, delta_net_chunked_avx2, l2_norm_avx2, rms_norm_gated_avx2,
                 silu_avx2, sigmoid_avx2, causal_conv1d_avx2});
  }
  if (best >= IsaLevel::kAvx512Vnni) {
    v.push_back({"avx512", 16, delta_net_recurrent_avx512, delta_net_chunked_avx512, l2_norm_avx512,
                 rms_norm_gated_avx512, silu_avx512, sigmoid_avx512, causal_conv1d_avx512});
  }
  return v;
}

std::vector<float> random(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = normal(gen);
  return v;
}

// One head's inputs in the layer's layout: token rows `stride` floats apart in wider buffers.
struct Inputs {
  int32_t n, d_k, d_v;
  int64_t stride;
  std::vector<float> q, k, v, g, beta;

  Inputs(int32_t n_tokens, int32_t dk, int32_t dv, uint32_t seed, float g_scale = 1.0f)
      : n(n_tokens), d_k(dk), d_v(dv), stride(static_cast<int64_t>(dk) + dv + 3) {
    const size_t size = static_cast<size_t>(n) * static_cast<size_t>(stride);
    q = random(size, seed);
    k = random(size, seed + 1);
    v = random(size, seed + 2);
    std::mt19937 gen(seed + 3);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (int32_t t = 0; t < n; ++t) {
      l2_norm_scalar(&q[static_cast<size_t>(t * stride)], &q[static_cast<size_t>(t * stride)], d_k, 1e-6f,
                     1.0f / std::sqrt(static_cast<float>(d_k)));
      l2_norm_scalar(&k[static_cast<size_t>(t * stride)], &k[static_cast<size_t>(t * stride)], d_k, 1e-6f, 1.0f);
      g.push_back(-g_scale * unit(gen));
      beta.push_back(unit(gen));
    }
  }

  DeltaNetHead head(float* out, int32_t from) const {
    const size_t f = static_cast<size_t>(from * stride);
    return {q.data() + f, k.data() + f, stride, v.data() + f, stride, g.data() + from, beta.data() + from, 1,
            out + f, stride};
  }
};

double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

// Largest difference relative to the largest reference value; NaN counts as infinitely wrong.
double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    if (!(d <= worst)) worst = d;
  }
  return worst / std::max(max_abs(want), 1e-30);
}

TEST(DeltaNetSimd, RecurrentMatchesTheReference) {
  for (const Variant& var : variants()) {
    for (int32_t d : {var.width, 64, 128}) {
      const Inputs in(9, d, 2 * d, static_cast<uint32_t>(d));
      std::vector<float> s_ref = random(static_cast<size_t>(2 * d) * d, 7, 0.5f);
      std::vector<float> s_vec = s_ref;
      std::vector<float> o_ref(static_cast<size_t>(in.n * in.stride), 0.0f), o_vec(o_ref.size(), 0.0f);
      delta_net_recurrent_scalar(in.head(o_ref.data(), 0), in.n, d, 2 * d, s_ref.data());
      var.recurrent(in.head(o_vec.data(), 0), in.n, d, 2 * d, s_vec.data());
      EXPECT_LT(relative_error(o_vec, o_ref), kTolerance) << var.name << " d=" << d;
      EXPECT_LT(relative_error(s_vec, s_ref), kTolerance) << var.name << " d=" << d;
    }
  }
}

TEST(DeltaNetSimd, ChunkedMatchesTheReferenceForAnyLengthAndChunk) {
  for (const Variant& var : variants()) {
    for (int32_t n : {1, 2, 15, 64, 65, 130}) {
      for (int32_t chunk : {1, 5, 16, 64}) {
        const int32_t d_k = 128, d_v = 128;
        const Inputs in(n, d_k, d_v, static_cast<uint32_t>(n * 100 + chunk));
        std::vector<float> s_ref = random(static_cast<size_t>(d_k) * d_v, 5, 0.5f);
        std::vector<float> s_vec = s_ref;
        std::vector<float> o_ref(static_cast<size_t>(n * in.stride), 0.0f), o_vec(o_ref.size(), 0.0f);
        std::vector<float> scratch(static_cast<size_t>(delta_net_chunk_scratch(chunk, d_k, d_v)), NAN);
        delta_net_chunked_scalar(in.head(o_ref.data(), 0), n, d_k, d_v, s_ref.data(), chunk, scratch.data());
        var.chunked(in.head(o_vec.data(), 0), n, d_k, d_v, s_vec.data(), chunk, scratch.data());
        EXPECT_LT(relative_error(o_vec, o_ref), kTolerance) << var.name << " n=" << n << " chunk=" << chunk;
        EXPECT_LT(relative_error(s_vec, s_ref), kTolerance) << var.name << " n=" << n << " chunk=" << chunk;
      }
    }
  }
}

TEST(DeltaNetSimd, ChunkedNarrowHeadsAndStrongDecay) {
  // Widths of one vector, unequal d_k and d_v; log decays of -50 a token underflow exp of the
  // chunk's cumulative sums (only differences may be exponentiated).
  for (const Variant& var : variants()) {
    for (float g_scale : {1.0f, 50.0f}) {
      const int32_t d_k = var.width, d_v = 3 * var.width, n = 100;
      const Inputs in(n, d_k, d_v, 17, g_scale);
      std::vector<float> s_ref = random(static_cast<size_t>(d_k) * d_v, 6, 0.5f);
      std::vector<float> s_vec = s_ref;
      std::vector<float> o_ref(static_cast<size_t>(n * in.stride), 0.0f), o_vec(o_ref.size(), 0.0f);
      std::vector<float> scratch(static_cast<size_t>(delta_net_chunk_scratch(kDeltaNetChunk, d_k, d_v)));
      delta_net_chunked_scalar(in.head(o_ref.data(), 0), n, d_k, d_v, s_ref.data(), kDeltaNetChunk, scratch.data());
      var.chunked(in.head(o_vec.data(), 0), n, d_k, d_v, s_vec.data(), kDeltaNetChunk, scratch.data());
      EXPECT_LT(relative_error(o_vec, o_ref), kTolerance) << var.name << " g_scale=" << g_scale;
      EXPECT_LT(relative_error(s_vec, s_ref), kTolerance) << var.name << " g_scale=" << g_scale;
    }
  }
}

TEST(DeltaNetSimd, ChunkedThenRecurrentContinuesTheSequence) {
  // A prompt in chunks, then decode token by token, then more prompt: the vector kernels hand the
  // state to each other as the references do.
  for (const Variant& var : variants()) {
    const int32_t n = 150, d = 128;
    const Inputs in(n, d, d, 23);
    std::vector<float> s_ref(static_cast<size_t>(d) * d, 0.0f), s_vec(s_ref);
    std::vector<float> o_ref(static_cast<size_t>(n * in.stride), 0.0f), o_vec(o_ref.size(), 0.0f);
    std::vector<float> scratch(static_cast<size_t>(delta_net_chunk_scratch(kDeltaNetChunk, d, d)));
    delta_net_recurrent_scalar(in.head(o_ref.data(), 0), n, d, d, s_ref.data());
    var.chunked(in.head(o_vec.data(), 0), 70, d, d, s_vec.data(), kDeltaNetChunk, scratch.data());
    var.recurrent(in.head(o_vec.data(), 70), 3, d, d, s_vec.data());
    var.chunked(in.head(o_vec.data(), 73), n - 73, d, d, s_vec.data(), kDeltaNetChunk, scratch.data());
    EXPECT_LT(relative_error(o_vec, o_ref), kTolerance) << var.name;
    EXPECT_LT(relative_error(s_vec, s_ref), kTolerance) << var.name;
  }
}

TEST(DeltaNetSimd, RowKernelsMatchTheReferences) {
  for (const Variant& var : variants()) {
    for (int64_t n : {1, 7, 16, 128, 133}) {
      const std::vector<float> x = random(static_cast<size_t>(n), 31, 3.0f);
      const std::vector<float> w = random(static_cast<size_t>(n), 32);
      const std::vector<float> z = random(static_cast<size_t>(n), 33, 4.0f);
      std::vector<float> ref(x.size()), got(x.size());
      l2_norm_scalar(x.data(), ref.data(), n, 1e-6f, 0.25f);
      var.l2(x.data(), got.data(), n, 1e-6f, 0.25f);
      EXPECT_LT(relative_error(got, ref), 1e-6) << var.name << " l2_norm n=" << n;
      rms_norm_gated_scalar(x.data(), w.data(), z.data(), ref.data(), n, 1e-6f);
      var.gated(x.data(), w.data(), z.data(), got.data(), n, 1e-6f);
      EXPECT_LT(relative_error(got, ref), 1e-6) << var.name << " rms_norm_gated n=" << n;
      ref = z;
      got = z;
      silu_scalar(ref.data(), n);
      var.silu_fn(got.data(), n);
      EXPECT_LT(relative_error(got, ref), 1e-6) << var.name << " silu n=" << n;
      ref = z;
      got = z;
      sigmoid_scalar(ref.data(), n);
      var.sigmoid_fn(got.data(), n);
      EXPECT_LT(relative_error(got, ref), 1e-6) << var.name << " sigmoid n=" << n;
    }
    // Far into the tails: silu and sigmoid saturate as the references do, never NaN.
    std::vector<float> tails = {-200.0f, -90.0f, -88.0f, -20.0f, 20.0f, 88.0f, 90.0f, 200.0f,
                                -1e30f, 1e30f, 0.0f, -0.0f, 1.0f, -1.0f, 50.0f, -50.0f};
    std::vector<float> ref = tails, got = tails;
    sigmoid_scalar(ref.data(), 16);
    var.sigmoid_fn(got.data(), 16);
    for (size_t i = 0; i < tails.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-6) << var.name << " " << tails[i];
  }
}

TEST(CausalConv1dSimd, GivesTheReferencesBitsAcrossSplitsAndChannelRanges) {
  for (const Variant& var : variants()) {
    for (int32_t d_conv : {1, 2, 4}) {
      const int32_t n = 9;
      const int64_t channels = 5 * var.width + 3, stride = channels + 4;
      const std::vector<float> x = random(static_cast<size_t>(n * stride), 41);
      const std::vector<float> w = random(static_cast<size_t>(channels * d_conv), 42);
      std::vector<float> st_ref = random(static_cast<size_t>((d_conv - 1) * channels), 43), st_vec(st_ref);
      std::vector<float> y_ref(static_cast<size_t>(n * stride), 0.0f), y_vec(y_ref);
      for (const int32_t count : {1, 2, 6}) {  // shorter and longer than the state, n = 9 in all
        const int32_t t0 = count == 1 ? 0 : count == 2 ? 1 : 3;
        const float* xt = x.data() + t0 * stride;
        causal_conv1d_scalar(xt, stride, count, w.data(), d_conv, st_ref.data(), channels, y_ref.data() + t0 * stride,
                             stride, 0, channels);
        // The vector kernel from channel 1, so that its vectors start unaligned; the reference
        // finishes what it leaves.
        causal_conv1d_scalar(xt, stride, count, w.data(), d_conv, st_vec.data(), channels, y_vec.data() + t0 * stride,
                             stride, 0, 1);
        const int64_t done = var.conv(xt, stride, count, w.data(), d_conv, st_vec.data(), channels,
                                      y_vec.data() + t0 * stride, stride, 1, channels);
        EXPECT_EQ(done, 1 + (channels - 1) / var.width * var.width) << var.name;
        causal_conv1d_scalar(xt, stride, count, w.data(), d_conv, st_vec.data(), channels, y_vec.data() + t0 * stride,
                             stride, done, channels);
      }
      EXPECT_EQ(y_vec, y_ref) << var.name << " d_conv=" << d_conv;
      EXPECT_EQ(st_vec, st_ref) << var.name << " d_conv=" << d_conv;
    }
  }
}

}  // namespace
}  // namespace tandem::cpu
