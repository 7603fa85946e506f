#include "kernels/cpu/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tandem::cpu {
namespace {

TEST(Elementwise, RmsNormHasUnitRootMeanSquare) {
  std::vector<float> x = {1.0f, -2.0f, 3.0f, -4.0f};
  std::vector<float> w = {1.0f, 1.0f, 2.0f, 1.0f};
  std::vector<float> y(4);
  rms_norm(x.data(), w.data(), y.data(), 4, 1e-6f);
  const float rms = std::sqrt((1 + 4 + 9 + 16) / 4.0f);
  EXPECT_NEAR(y[0], 1.0f / rms, 1e-6);
  EXPECT_NEAR(y[2], 2.0f * 3.0f / rms, 1e-6);
  rms_norm(x.data(), nullptr, y.data(), 4, 1e-6f);  // in place on another buffer, no weight
  EXPECT_NEAR(y[3], -4.0f / rms, 1e-6);
}

// The dispatched rms_norm (AVX-512 where the CPU has it) against the definition with one serial
// double sum: only the double rounding of the sum may differ, far below a float's resolution.
TEST(Elementwise, RmsNormMatchesSerialDoubleSum) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (const int64_t n : {1, 7, 16, 64, 576, 1000}) {
    std::vector<float> x(static_cast<size_t>(n)), w(x.size()), y(x.size());
    for (float& v : x) v = normal(rng);
    for (float& v : w) v = normal(rng);
    double sum = 0.0;
    for (const float v : x) sum += static_cast<double>(v * v);
    const float inv = 1.0f / std::sqrt(static_cast<float>(sum / static_cast<double>(n)) + 1e-5f);
    rms_norm(x.data(), w.data(), y.data(), n, 1e-5f);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_FLOAT_EQ(y[static_cast<size_t>(i)], (x[static_cast<size_t>(i)] * inv) * w[static_cast<size_t>(i)])
          << "n " << n << " at " << i;
    }
    const std::vector<float> original = x;
    rms_norm(x.data(), nullptr, x.data(), n, 1e-5f);  // in place, no weight
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_FLOAT_EQ(x[static_cast<size_t>(i)], original[static_cast<size_t>(i)] * inv) << "in place, n " << n;
    }
  }
}

TEST(Elementwise, SoftmaxSumsToOneAndHandlesMinusInfinity) {
  std::vector<float> x = {1.0f, 2.0f, -INFINITY, 3.0f};
  softmax(x.data(), 4);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_NEAR(x[0] + x[1] + x[3], 1.0f, 1e-6);
  EXPECT_NEAR(x[3] / x[1], std::exp(1.0f), 1e-4);
}

// The vector silu (AVX-512 where the CPU has it) against the expression in double, across the
// range where exp over- and underflows: within a few ulp.
TEST(Elementwise, SiluMulIsAccurateOverTheWholeRange) {
  std::vector<float> gate;
  for (float g = -120.0f; g <= 120.0f; g += 0.0137f) gate.push_back(g);
  std::vector<float> up(gate.size(), 1.5f);
  std::vector<float> out = gate;
  silu_mul(out.data(), up.data(), static_cast<int64_t>(out.size()));
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    const double expected = g / (1.0 + std::exp(-g)) * 1.5;
    // Below g = -88.7 float's exp(-g) overflows and silu flushes to -0, as the scalar loop does;
    // the double reference is then below 1e-35.
    EXPECT_NEAR(out[i], expected, 4e-7 * std::fabs(expected) + 1e-35) << "silu(" << g << ")";
  }
}

TEST(Elementwise, SiluAndGeluGates) {
  std::vector<float> gate = {0.0f, 1.0f, -1.0f};
  std::vector<float> up = {2.0f, 2.0f, 2.0f};
  silu_mul(gate.data(), up.data(), 3);
  EXPECT_NEAR(gate[0], 0.0f, 1e-7);
  EXPECT_NEAR(gate[1], 2.0f / (1.0f + std::exp(-1.0f)), 1e-6);
  EXPECT_NEAR(gate[2], -2.0f / (1.0f + std::exp(1.0f)), 1e-6);
  std::vector<float> g2 = {0.0f, 3.0f, -12.0f, 12.0f};
  std::vector<float> u2 = {1.0f, 1.0f, 1.0f, 2.0f};
  gelu_mul(g2.data(), u2.data(), 4);
  EXPECT_NEAR(g2[0], 0.0f, 1e-7);
  EXPECT_NEAR(g2[1], 2.99636f, 2e-3);  // gelu(3) with the tanh approximation, at F16 precision
  EXPECT_EQ(g2[2], 0.0f);              // saturates below -10
  EXPECT_EQ(g2[3], 24.0f);             // and is the identity above 10
}

}  // namespace
}  // namespace tandem::cpu
