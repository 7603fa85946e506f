#include "kernels/cpu/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tandem::cpu {
namespace {

float norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return static_cast<float>(std::sqrt(s));
}

TEST(Rope, PositionZeroIsIdentityAndRotationKeepsNorm) {
  for (RopeStyle style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    RopeParams p;
    p.style = style;
    p.n_rot = 8;
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    std::vector<float> y = x;
    rope(y.data(), 2, 8, 0, p);
    EXPECT_EQ(y, x);
    rope(y.data(), 2, 8, 37, p);
    EXPECT_NEAR(norm(y), norm(x), 1e-4);
    EXPECT_NE(y, x);
  }
}

TEST(Rope, NormalStyleRotatesAdjacentPairsByPositionTimesFrequency) {
  RopeParams p;
  p.n_rot = 4;
  p.freq_base = 10000.0f;
  std::vector<float> x = {1, 0, 1, 0};
  rope(x.data(), 1, 4, 3, p);
  // Pair 0 turns by 3 rad; pair 1 by 3 * 10000^(-2/4) = 0.03 rad.
  EXPECT_NEAR(x[0], std::cos(3.0f), 1e-5);
  EXPECT_NEAR(x[1], std::sin(3.0f), 1e-5);
  EXPECT_NEAR(x[2], std::cos(0.03f), 1e-5);
  EXPECT_NEAR(x[3], std::sin(0.03f), 1e-5);
}

TEST(Rope, NeoxStyleRotatesHalves) {
  RopeParams p;
  p.style = RopeStyle::kNeox;
  p.n_rot = 4;
  std::vector<float> x = {1, 1, 0, 0};
  rope(x.data(), 1, 4, 2, p);
  EXPECT_NEAR(x[0], std::cos(2.0f), 1e-5);
  EXPECT_NEAR(x[2], std::sin(2.0f), 1e-5);
  EXPECT_NEAR(x[1], std::cos(0.02f), 1e-5);
  EXPECT_NEAR(x[3], std::sin(0.02f), 1e-5);
}

TEST(Rope, LinearScalingDividesPositions) {
  RopeParams scaled;
  scaled.n_rot = 4;
  scaled.freq_scale = 0.5f;
  RopeParams plain;
  plain.n_rot = 4;
  std::vector<float> a = {1, 0, 1, 0};
  std::vector<float> b = a;
  rope(a.data(), 1, 4, 10, scaled);
  rope(b.data(), 1, 4, 5, plain);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
}

TEST(Rope, FrequencyFactorsSlowRotation) {
  std::vector<float> factors = {1.0f, 4.0f};
  RopeParams p;
  p.n_rot = 4;
  p.freq_factors = factors.data();
  std::vector<float> x = {1, 0, 1, 0};
  rope(x.data(), 1, 4, 8, p);
  EXPECT_NEAR(x[2], std::cos(8 * 0.01f / 4.0f), 1e-5);
}

}  // namespace
}  // namespace tandem::cpu
