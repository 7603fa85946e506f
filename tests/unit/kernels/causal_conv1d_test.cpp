#include "kernels/cpu/causal_conv1d.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tandem::cpu {
namespace {

// Straight from the definition: the whole history (zeros before the sequence), one window per token.
std::vector<float> naive(const std::vector<float>& x, int32_t n, int64_t channels, const std::vector<float>& w,
                         int32_t d_conv) {
  std::vector<float> y(static_cast<size_t>(n) * channels, 0.0f);
  for (int32_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < channels; ++c) {
      float sum = 0.0f;
      for (int32_t i = 0; i < d_conv; ++i) {
        const int32_t u = t - (d_conv - 1) + i;
        const float in = u < 0 ? 0.0f : x[static_cast<size_t>(u) * channels + c];
        sum += in * w[static_cast<size_t>(c) * d_conv + i];
      }
      y[static_cast<size_t>(t) * channels + c] = sum;
    }
  }
  return y;
}

std::vector<float> random(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(gen);
  return v;
}

TEST(CausalConv1d, MatchesTheDefinitionAcrossAnySplitOfTheSequence) {
  const int32_t n = 23, d_conv = 4;
  const int64_t channels = 10;
  const std::vector<float> x = random(static_cast<size_t>(n) * channels, 1);
  const std::vector<float> w = random(static_cast<size_t>(channels) * d_conv, 2);
  const std::vector<float> ref = naive(x, n, channels, w, d_conv);
  // Splits shorter than the state (1, 2 tokens) exercise the state shifting within itself.
  for (const std::vector<int32_t>& parts : {std::vector<int32_t>{23}, {1, 1, 1, 20}, {2, 5, 16}, {3, 3, 3, 3, 11}}) {
    std::vector<float> state(static_cast<size_t>(d_conv - 1) * channels, 0.0f);
    std::vector<float> y(ref.size(), -1.0f);
    int32_t t = 0;
    for (int32_t count : parts) {
      causal_conv1d(x.data() + static_cast<size_t>(t) * channels, channels, count, w.data(), d_conv, state.data(),
                    channels, y.data() + static_cast<size_t>(t) * channels, channels, 0, channels);
      t += count;
    }
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_FLOAT_EQ(y[i], ref[i]) << i;
    // The state is the last d_conv - 1 inputs.
    for (int32_t r = 0; r < d_conv - 1; ++r) {
      for (int64_t c = 0; c < channels; ++c) {
        EXPECT_EQ(state[static_cast<size_t>(r) * channels + c],
                  x[static_cast<size_t>(n - (d_conv - 1) + r) * channels + c]);
      }
    }
  }
}

TEST(CausalConv1d, ChannelRangesAndStridesAreIndependent) {
  const int32_t n = 5, d_conv = 3;
  const int64_t channels = 6, stride = 9;
  std::vector<float> x = random(static_cast<size_t>(n) * stride, 3);
  const std::vector<float> w = random(static_cast<size_t>(channels) * d_conv, 4);
  std::vector<float> packed(static_cast<size_t>(n) * channels);
  for (int32_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < channels; ++c) packed[static_cast<size_t>(t * channels + c)] = x[static_cast<size_t>(t * stride + c)];
  }
  const std::vector<float> ref = naive(packed, n, channels, w, d_conv);
  std::vector<float> state(static_cast<size_t>(d_conv - 1) * channels, 0.0f);
  std::vector<float> y(static_cast<size_t>(n) * stride, 7.0f);
  causal_conv1d(x.data(), stride, n, w.data(), d_conv, state.data(), channels, y.data(), stride, 0, 2);
  causal_conv1d(x.data(), stride, n, w.data(), d_conv, state.data(), channels, y.data(), stride, 2, channels);
  for (int32_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < channels; ++c) {
      EXPECT_FLOAT_EQ(y[static_cast<size_t>(t * stride + c)], ref[static_cast<size_t>(t * channels + c)]);
    }
    EXPECT_EQ(y[static_cast<size_t>(t * stride + channels)], 7.0f);  // past the row: untouched
  }
}

}  // namespace
}  // namespace tandem::cpu
