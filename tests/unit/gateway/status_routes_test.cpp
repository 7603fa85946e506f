// The documented shapes of /api/links and /metrics, from a LinkSet driven without sockets.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/app/status_routes.h"

namespace tandem::gateway {
namespace {

LinkSet two_links() {
  LinkConfig a;
  a.name = "primary";
  a.url = "http://10.0.0.1:8080";
  a.api_key = "secret-key-never-shown";
  LinkConfig b = a;
  b.name = "backup";
  b.url = "http://10.0.0.2:8080";
  return LinkSet({a, b}, FailoverRules{});
}

TEST(StatusRoutes, ApiLinksHasTheDocumentedShape) {
  LinkSet links = two_links();
  auto before = nlohmann::json::parse(links_json(links.snapshot()));
  EXPECT_TRUE(before["active"].is_null());
  EXPECT_EQ(before["mode"], "degraded");
  EXPECT_TRUE(before["links"][0]["rtt_ms"]["last"].is_null()) << "no probe yet";

  links.record_probe(0, {true, 2, ""});
  links.record_probe(1, {true, 3, ""});
  links.record_connection_error(0, "Connection refused");
  links.begin_request(1);
  const std::string text = links_json(links.snapshot());
  EXPECT_EQ(text.find("secret-key-never-shown"), std::string::npos);
  auto s = nlohmann::json::parse(text);
  EXPECT_EQ(s["active"], "backup");
  EXPECT_EQ(s["mode"], "failover");
  ASSERT_EQ(s["links"].size(), 2u);
  const auto& p = s["links"][0];
  EXPECT_EQ(p["name"], "primary");
  EXPECT_EQ(p["url"], "http://10.0.0.1:8080");
  EXPECT_EQ(p["protocol"], "http");
  EXPECT_EQ(p["state"], "down");
  EXPECT_EQ(p["rtt_ms"]["last"], 2);
  EXPECT_TRUE(p["rtt_ms"].contains("p50") && p["rtt_ms"].contains("p95"));
  EXPECT_EQ(s["links"][1]["in_flight"], 1);
  EXPECT_EQ(s["links"][1]["requests_total"], 1);
  EXPECT_EQ(s["links"][1]["errors_total"], 0);
  const auto& last = s["events"].back();
  EXPECT_EQ(last["from"], "primary");
  EXPECT_EQ(last["to"], "backup");
  EXPECT_TRUE(last["time"].is_string());
  EXPECT_FALSE(last["reason"].get<std::string>().empty());
}

TEST(StatusRoutes, MetricsNameLinksStatesAndSwitches) {
  LinkSet links = two_links();
  links.record_probe(0, {true, 2, ""});
  links.record_probe(1, {true, 3, ""});
  links.begin_request(0);
  links.end_request(0, 200, false);
  GatewayMetrics metrics;
  metrics.added_latency.observe(0.0002);
  const std::string text = render_metrics(links.snapshot(), metrics);
  EXPECT_NE(text.find("tandem_gateway_link_state{link=\"primary\",state=\"healthy\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_link_active{link=\"primary\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_mode{mode=\"normal\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_link_switches_total 0"), std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_probe_rtt_seconds_bucket{link=\"backup\",le=\"0.005\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_proxied_requests_total{link=\"primary\",status=\"200\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_gateway_added_latency_seconds_count 1"), std::string::npos);
  EXPECT_EQ(text.find("secret-key-never-shown"), std::string::npos);
}

}  // namespace
}  // namespace tandem::gateway
