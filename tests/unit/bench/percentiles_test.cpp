#include "tools/bench/percentiles.h"

#include <gtest/gtest.h>

namespace tandem::bench {
namespace {

TEST(Percentiles, EmptySampleHasNone) { EXPECT_FALSE(summarize({}).has_value()); }

TEST(Percentiles, OneValueIsEveryPercentile) {
  const auto p = summarize({7.5});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->p50, 7.5);
  EXPECT_EQ(p->p95, 7.5);
  EXPECT_EQ(p->p99, 7.5);
}

TEST(Percentiles, InterpolatesBetweenRanksLikeNumpy) {
  // numpy.percentile([1..100], [50, 95, 99]) = 50.5, 95.05, 99.01
  std::vector<double> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);  // order must not matter
  const auto p = summarize(values);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->p50, 50.5);
  EXPECT_NEAR(p->p95, 95.05, 1e-9);
  EXPECT_NEAR(p->p99, 99.01, 1e-9);
}

TEST(Percentiles, AreOrderedForASkewedSample) {
  const auto p = summarize({1, 1, 1, 1, 1, 1, 1, 1, 1, 1000});
  ASSERT_TRUE(p);
  EXPECT_LE(p->p50, p->p95);
  EXPECT_LE(p->p95, p->p99);
  EXPECT_EQ(p->p50, 1);
}

}  // namespace
}  // namespace tandem::bench
