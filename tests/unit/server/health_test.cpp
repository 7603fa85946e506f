// GET /health's verdict for each scheduler state.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/ops_routes.h"

namespace tandem::server {
namespace {

using nlohmann::json;

SchedulerStatus ready() {
  SchedulerStatus s;
  s.state = ModelState::kReady;
  s.model = ModelInfo{"m", "/models/m.gguf", 512, 32000, 0};
  return s;
}

TEST(Health, ReadyIsOkWithTheModel) {
  const auto r = health_response(ready());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["model"], "m");
}

TEST(Health, BusyButSteppingIsOk) {
  SchedulerStatus s = ready();
  s.running = 16;
  s.seconds_since_step = 0.5;
  EXPECT_EQ(health_response(s).status, 200);
}

// Issue 10, item 2: /health said ok while no sequence advanced.
TEST(Health, RunningSequencesThatNoStepAdvancesAreAStall) {
  SchedulerStatus s = ready();
  s.running = 2;
  s.seconds_since_step = kStalledStepSeconds + 1;
  const auto r = health_response(s);
  EXPECT_EQ(r.status, 503);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "stalled");
  EXPECT_NE(body["reason"].get<std::string>().find("no forward step"), std::string::npos);
}

TEST(Health, IdleSchedulerIsNotAStall) {
  SchedulerStatus s = ready();
  s.running = 0;
  s.seconds_since_step = 10 * kStalledStepSeconds;  // nothing to step
  EXPECT_EQ(health_response(s).status, 200);
}

TEST(Health, LoadingUnloadedAndShuttingDownAre503WithTheReason) {
  SchedulerStatus loading;
  loading.state = ModelState::kLoading;
  loading.reason = "loading /models/m.gguf";
  const auto l = health_response(loading);
  EXPECT_EQ(l.status, 503);
  EXPECT_EQ(json::parse(l.body)["reason"], "loading /models/m.gguf");
  ASSERT_FALSE(l.headers.empty());
  EXPECT_EQ(l.headers[0].first, "Retry-After");

  SchedulerStatus stopping = ready();
  stopping.accepting = false;
  const auto st = health_response(stopping);
  EXPECT_EQ(st.status, 503);
  EXPECT_EQ(json::parse(st.body)["status"], "shutting_down");
}

}  // namespace
}  // namespace tandem::server
