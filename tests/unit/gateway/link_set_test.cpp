// LinkSet: the failover rule with its record (events, counters, the 503 summary) and groups,
// driven by reported probe outcomes; no sockets.

#include <gtest/gtest.h>

#include "gateway/links/link_set.h"

namespace tandem::gateway {
namespace {

LinkConfig link(std::string name, std::string group = "") {
  LinkConfig l;
  l.name = std::move(name);
  l.url = "http://127.0.0.1:1";
  l.group = std::move(group);
  return l;
}

const ProbeOutcome kFast{true, 1, ""};
const ProbeOutcome kRefused{false, 0, "Connection refused"};

TEST(LinkSet, ServesTheFirstHealthyLinkAndRecordsTheSwitches) {
  LinkSet links({link("primary"), link("backup")}, FailoverRules{});
  EXPECT_EQ(links.pick(), -1) << "nothing probed yet";
  EXPECT_FALSE(links.can_serve());
  links.record_probe(1, kFast);
  // The primary has not been probed yet, so no link is active; a request in that moment still goes
  // to a live link rather than failing.
  EXPECT_FALSE(links.can_serve());
  EXPECT_EQ(links.pick(), 1);
  links.record_probe(0, kFast);
  EXPECT_EQ(links.pick(), 0);
  EXPECT_EQ(links.snapshot().mode, GatewayMode::kNormal);

  links.record_connection_error(0, "Connection reset by peer");
  EXPECT_EQ(links.pick(), 1);
  const LinksSnapshot s = links.snapshot();
  EXPECT_EQ(s.mode, GatewayMode::kFailover);
  EXPECT_EQ(s.links[0].state, LinkState::kDown);
  ASSERT_FALSE(s.events.empty());
  EXPECT_EQ(s.events.back().from, "primary");
  EXPECT_EQ(s.events.back().to, "backup");
  EXPECT_NE(s.events.back().reason.find("reset"), std::string::npos);
  EXPECT_EQ(s.switches_total, 1u);
  // A request that failed on the backup is not sent back to the down primary.
  EXPECT_EQ(links.pick(uint64_t{1} << 1), -1);
}

TEST(LinkSet, WithEveryLinkDownTheSummaryNamesEachAndWhy) {
  LinkSet links({link("primary"), link("backup")}, FailoverRules{});
  for (int i = 0; i < 3; ++i) {
    links.record_probe(0, kRefused);
    links.record_probe(1, kRefused);
  }
  EXPECT_FALSE(links.can_serve());
  const std::string summary = links.failure_summary();
  EXPECT_NE(summary.find("primary: down"), std::string::npos) << summary;
  EXPECT_NE(summary.find("backup: down"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Connection refused"), std::string::npos) << summary;
  // One answers again: it serves at once.
  links.record_probe(1, kFast);
  EXPECT_EQ(links.pick(), 1);
}

TEST(LinkSet, AGroupSharesTheLoadByRequestsInFlight) {
  LinkSet links({link("a", "site"), link("b", "site"), link("c")}, FailoverRules{});
  for (size_t i = 0; i < 3; ++i) links.record_probe(i, kFast);
  EXPECT_EQ(links.pick(), 0);
  links.begin_request(0);
  EXPECT_EQ(links.pick(), 1);
  links.begin_request(1);
  links.begin_request(1);
  EXPECT_EQ(links.pick(), 0);
  links.end_request(1, 200, false);
  links.end_request(1, 200, false);
  links.end_request(0, 200, false);
  const LinksSnapshot s = links.snapshot();
  EXPECT_EQ(s.links[1].requests_total, 2u);
  EXPECT_EQ(s.links[1].in_flight, 0);
  EXPECT_EQ(s.links[1].responses.at(200), 2u);
  EXPECT_EQ(s.links[2].requests_total, 0u) << "c is not in the group";
}

}  // namespace
}  // namespace tandem::gateway

namespace tandem::gateway {
namespace {

TEST(LinkSet, ARequestGoesToALinkThatListsItsModel) {
  LinkSet links({link("primary"), link("backup")}, FailoverRules{});
  links.record_probe(0, kFast);
  links.record_probe(1, kFast);
  EXPECT_FALSE(links.routes_by_model());
  links.set_models(0, {"smollm2"});
  links.set_models(1, {"stories260K"});
  EXPECT_TRUE(links.routes_by_model());
  EXPECT_EQ(links.pick(0, "smollm2"), 0);
  EXPECT_EQ(links.pick(0, "stories260K"), 1);
  EXPECT_EQ(links.pick(0, ""), 0);
  EXPECT_EQ(links.pick(0, "no-such-model"), 0) << "the active link answers (its backend says 404)";
  EXPECT_EQ(links.pick(uint64_t{1} << 1, "stories260K"), 0) << "the one that lists it failed: the usual choice";
  links.set_models(1, {"smollm2"});
  EXPECT_FALSE(links.routes_by_model());
}

}  // namespace
}  // namespace tandem::gateway
