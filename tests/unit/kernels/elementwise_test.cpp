#include "kernels/cpu/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
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
