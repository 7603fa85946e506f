// The failover rule, played out probe by probe with a made-up clock: no sockets, no sleeps.

#include <gtest/gtest.h>

#include "gateway/links/failover_rule.h"

namespace tandem::gateway {
namespace {

FailoverRules rules() {
  FailoverRules r;
  r.latency_threshold_ms = 200;
  r.slow_probes = 3;
  r.failed_probes = 2;
  r.recover_probes = 10;
  r.min_hold_seconds = 30;
  return r;
}

ProbeOutcome fast() { return {true, 5, ""}; }
ProbeOutcome slow() { return {true, 450, ""}; }
ProbeOutcome failed() { return {false, 0, "connection refused"}; }

LinkHealth after(LinkHealth h, const std::vector<ProbeOutcome>& probes) {
  for (const auto& p : probes) h = after_probe(h, p, rules());
  return h;
}

std::vector<ProbeOutcome> repeat(ProbeOutcome p, int n) { return std::vector<ProbeOutcome>(static_cast<size_t>(n), p); }

TEST(FailoverRule, ALinkIsDownUntilItsFirstAnswerWhichDecidesItsState) {
  LinkHealth h;
  EXPECT_EQ(h.state, LinkState::kDown);
  EXPECT_EQ(after(h, {fast()}).state, LinkState::kHealthy);
  EXPECT_EQ(after(h, {slow()}).state, LinkState::kSlow);
  EXPECT_EQ(after(h, {failed(), failed(), failed()}).state, LinkState::kDown);
  // A link that was down at start and comes up later is healthy at its first answer.
  EXPECT_EQ(after(h, {failed(), failed(), fast()}).state, LinkState::kHealthy);
}

TEST(FailoverRule, HealthyBecomesSlowAfterSlowProbesInARow) {
  LinkHealth h = after({}, {fast()});
  EXPECT_EQ(after(h, repeat(slow(), 2)).state, LinkState::kHealthy);
  EXPECT_EQ(after(h, repeat(slow(), 3)).state, LinkState::kSlow);
  // A good probe breaks the streak.
  EXPECT_EQ(after(h, {slow(), slow(), fast(), slow(), slow()}).state, LinkState::kHealthy);
  // Exactly at the threshold is not slow.
  EXPECT_EQ(after(h, repeat(ProbeOutcome{true, 200, ""}, 5)).state, LinkState::kHealthy);
}

TEST(FailoverRule, DownAfterFailedProbesInARowOrAtOnceOnAConnectionError) {
  LinkHealth h = after({}, {fast()});
  EXPECT_EQ(after(h, {failed()}).state, LinkState::kHealthy);
  const LinkHealth down = after(h, {failed(), failed()});
  EXPECT_EQ(down.state, LinkState::kDown);
  EXPECT_NE(down.reason.find("connection refused"), std::string::npos);
  EXPECT_EQ(after(h, {failed(), fast(), failed()}).state, LinkState::kHealthy);
  const LinkHealth cut = after_connection_error(h, "Connection reset by peer");
  EXPECT_EQ(cut.state, LinkState::kDown);
  EXPECT_NE(cut.reason.find("reset"), std::string::npos);
}

TEST(FailoverRule, RecoveryNeedsRecoverProbesGoodProbesInARow) {
  LinkHealth h = after(after({}, {fast()}), repeat(slow(), 3));
  ASSERT_EQ(h.state, LinkState::kSlow);
  EXPECT_EQ(after(h, repeat(fast(), 9)).state, LinkState::kSlow);
  EXPECT_EQ(after(h, repeat(fast(), 10)).state, LinkState::kHealthy);
  std::vector<ProbeOutcome> broken = repeat(fast(), 9);
  broken.push_back(slow());
  broken.push_back(fast());
  EXPECT_EQ(after(h, broken).state, LinkState::kSlow);

  // A down link that answers again is live (slow) at once and healthy after the recover probes.
  LinkHealth down = after(after({}, {fast()}), {failed(), failed()});
  ASSERT_EQ(down.state, LinkState::kDown);
  EXPECT_EQ(after(down, {fast()}).state, LinkState::kSlow);
  EXPECT_EQ(after(down, repeat(fast(), 10)).state, LinkState::kHealthy);
}

std::vector<LinkView> views(std::initializer_list<std::pair<LinkState, double>> states) {
  std::vector<LinkView> v;
  int i = 0;
  for (auto [state, rtt] : states) v.push_back({"link" + std::to_string(i++), state, rtt, "why"});
  return v;
}

constexpr auto H = LinkState::kHealthy;
constexpr auto S = LinkState::kSlow;
constexpr auto D = LinkState::kDown;

TEST(FailoverRule, NewRequestsGoToTheFirstHealthyLink) {
  SelectionState s;
  auto change = select_active(views({{H, 5}, {H, 5}}), s, 0, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, -1);
  EXPECT_EQ(change->to, 0);
  EXPECT_EQ(mode_of(views({{H, 5}, {H, 5}}), s.active), GatewayMode::kNormal);
  EXPECT_FALSE(select_active(views({{H, 5}, {H, 5}}), s, 1, rules()));

  // The primary goes slow: the backup takes over at once.
  change = select_active(views({{S, 450}, {H, 5}}), s, 2, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(change->from, 0);
  EXPECT_EQ(change->to, 1);
  EXPECT_NE(change->reason.find("slow"), std::string::npos);
  EXPECT_EQ(mode_of(views({{S, 450}, {H, 5}}), s.active), GatewayMode::kFailover);
}

TEST(FailoverRule, TheFirstChoiceWaitsUntilTheLinksBeforeItWereProbed) {
  SelectionState s;
  auto v = views({{D, 0}, {H, 5}});
  v[0].probed = false;
  EXPECT_FALSE(select_active(v, s, 0, rules())) << "the backup answered first, but the primary may be up too";
  v[0].probed = true;
  v[0].state = H;
  auto change = select_active(v, s, 0.1, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, 0);
  EXPECT_FALSE(s.last_switch_s) << "the first choice is not a switch";
  // A primary that turns out down does not hold the backup back.
  SelectionState t;
  v[0].state = D;
  change = select_active(v, t, 1, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, 1);
}

TEST(FailoverRule, TheReturnToAHigherLinkWaitsForTheHold) {
  SelectionState s;
  select_active(views({{H, 5}, {H, 5}}), s, 0, rules());
  select_active(views({{D, 0}, {H, 5}}), s, 100, rules());
  ASSERT_EQ(s.active, 1);
  // Healthy again 10 s after the switch: the hold (30 s) keeps the backup.
  EXPECT_FALSE(select_active(views({{H, 5}, {H, 5}}), s, 110, rules()));
  EXPECT_FALSE(select_active(views({{H, 5}, {H, 5}}), s, 129.9, rules()));
  auto back = select_active(views({{H, 5}, {H, 5}}), s, 130, rules());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->to, 0);
  EXPECT_EQ(s.active, 0);
}

TEST(FailoverRule, AFlappingLinkHasItsHoldDoubledUpTo300Seconds) {
  FailoverRules r = rules();
  SelectionState s;
  double t = 0;
  select_active(views({{H, 5}, {H, 5}}), s, t, r);
  // Each cycle: primary down (switch away), healthy again, back after the hold in force.
  std::vector<double> holds;
  for (int cycle = 0; cycle < 6; ++cycle) {
    t += 1;
    select_active(views({{D, 0}, {H, 5}}), s, t, r);
    ASSERT_EQ(s.active, 1);
    const double switched = t;
    holds.push_back(hold_seconds(s, 0, t, r));
    // Find when the return happens, in steps of one second.
    while (s.active != 0) {
      t += 1;
      select_active(views({{H, 5}, {H, 5}}), s, t, r);
      ASSERT_LT(t - switched, 400) << "never returned";
    }
    // (Later the hold shrinks while it runs, as old switches leave the 10-minute window.)
    if (cycle < 3) {
      EXPECT_GE(t - switched, holds.back());
    }
  }
  // The primary's switches within 10 minutes: 1, 3, 5, 7 -> holds of 30, 60, 240, then capped at 300.
  EXPECT_DOUBLE_EQ(holds[0], 30);
  EXPECT_DOUBLE_EQ(holds[1], 60);
  EXPECT_DOUBLE_EQ(holds[2], 240);
  EXPECT_DOUBLE_EQ(holds[3], 300);
  // Ten quiet minutes later the hold is back to the minimum.
  EXPECT_DOUBLE_EQ(hold_seconds(s, 0, t + 601, r), 30);
}

TEST(FailoverRule, WithNoHealthyLinkTheFastestLiveOneServesDegraded) {
  SelectionState s;
  select_active(views({{H, 5}, {H, 5}}), s, 0, rules());
  auto change = select_active(views({{S, 600}, {S, 300}}), s, 1, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(s.active, 1);
  EXPECT_EQ(mode_of(views({{S, 600}, {S, 300}}), s.active), GatewayMode::kDegraded);
  // Probe noise does not move traffic back and forth.
  EXPECT_FALSE(select_active(views({{S, 290}, {S, 310}}), s, 2, rules()));
  EXPECT_TRUE(select_active(views({{S, 100}, {S, 310}}), s, 3, rules()));
  EXPECT_EQ(s.active, 0);
}

TEST(FailoverRule, WithNoLiveLinkThereIsNoActiveLink) {
  SelectionState s;
  select_active(views({{H, 5}, {H, 5}}), s, 0, rules());
  auto change = select_active(views({{D, 0}, {D, 0}}), s, 1, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(change->to, -1);
  EXPECT_EQ(s.active, -1);
  EXPECT_EQ(mode_of(views({{D, 0}, {D, 0}}), s.active), GatewayMode::kDegraded);
  // One comes back (live but not yet recovered): it serves at once.
  change = select_active(views({{D, 0}, {S, 5}}), s, 2, rules());
  ASSERT_TRUE(change);
  EXPECT_EQ(s.active, 1);
}

}  // namespace
}  // namespace tandem::gateway
