#include <gtest/gtest.h>

#include "gateway/app/rate_limiter.h"
#include "gateway/links/rtt_stats.h"

namespace tandem::gateway {
namespace {

TEST(RttStats, LastEwmaAndPercentilesOverTheWindow) {
  RttStats s(10, 0.5);
  EXPECT_FALSE(s.last());
  EXPECT_FALSE(s.percentile(50));
  for (int i = 1; i <= 10; ++i) s.add(i);
  EXPECT_EQ(*s.last(), 10);
  EXPECT_EQ(*s.percentile(50), 5);
  EXPECT_EQ(*s.percentile(95), 10);
  // The window keeps the last ten: 100 pushes out 1.
  s.add(100);
  EXPECT_EQ(*s.percentile(100), 100);
  EXPECT_EQ(*s.percentile(0), 2);
  RttStats e(4, 0.5);
  e.add(10);
  e.add(20);
  EXPECT_DOUBLE_EQ(*e.ewma(), 15);
}

TEST(RateLimiter, AllowsABurstOfPerMinuteThenRefills) {
  RateLimiter limiter(60);  // one a second
  for (int i = 0; i < 60; ++i) EXPECT_EQ(limiter.admit("key-a", 0), 0) << i;
  const int wait = limiter.admit("key-a", 0);
  EXPECT_GE(wait, 1);
  EXPECT_EQ(limiter.admit("key-b", 0), 0) << "keys are counted apart";
  EXPECT_EQ(limiter.admit("key-a", 1.0), 0) << "one more after a second";
  EXPECT_GE(limiter.admit("key-a", 1.0), 1);
  EXPECT_FALSE(RateLimiter(0).enabled());
  EXPECT_EQ(RateLimiter(0).admit("x", 0), 0);
}

}  // namespace
}  // namespace tandem::gateway
