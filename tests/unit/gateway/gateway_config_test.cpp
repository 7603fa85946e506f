#include <gtest/gtest.h>

#include "gateway/config/gateway_options.h"

namespace tandem::gateway {
namespace {

using config::Severity;

bool has_error(const config::ConfigReport& report, const std::string& field, const std::string& text) {
  for (const auto& p : report.problems) {
    if (p.severity == Severity::kError && p.field == field && p.message.find(text) != std::string::npos) return true;
  }
  return false;
}

// The example from issue 11.
constexpr const char* kExample = R"({ "network": {"bind_address": "127.0.0.1", "port": 8000},
  "links": [ {"name": "primary", "url": "http://192.168.1.200:8080", "protocol": "http", "api_key": "..."},
             {"name": "backup",  "url": "http://192.168.1.201:8080", "protocol": "http"} ],
  "failover": {"latency_threshold_ms": 200, "probe_interval_ms": 1000, "probe_timeout_ms": 1000,
               "slow_probes": 3, "failed_probes": 2, "recover_probes": 10, "min_hold_seconds": 30},
  "security": {"api_keys": []} })";

TEST(GatewayConfig, LoadsTheIssueExample) {
  LoadedGatewayConfig loaded = load_gateway_config(kExample, "gateway.json");
  ASSERT_TRUE(loaded.report.problems.empty()) << loaded.report.to_string();
  const GatewayConfig& c = loaded.config;
  EXPECT_EQ(c.port, 8000);
  ASSERT_EQ(c.links.size(), 2u);
  EXPECT_EQ(c.links[0].name, "primary");
  EXPECT_EQ(c.links[0].host, "192.168.1.200");
  EXPECT_EQ(c.links[0].port, 8080);
  EXPECT_EQ(c.links[0].api_key, "...");
  EXPECT_EQ(c.links[1].api_key, "");
  EXPECT_EQ(c.links[1].protocol, "http");
  EXPECT_EQ(c.latency_threshold_ms, 200);
  EXPECT_EQ(c.recover_probes, 10);
  EXPECT_EQ(c.min_hold_seconds, 30);
}

TEST(GatewayConfig, EveryOptionHasHelpAndAUsableDefault) {
  const GatewayConfig c = default_gateway_config();
  EXPECT_EQ(c.port, 8000);
  EXPECT_EQ(c.probe_interval_ms, 1000);
  for (const auto& spec : gateway_option_table()) EXPECT_FALSE(spec.help.empty()) << spec.path;
  const std::string reference = config::options_reference_of(gateway_option_table());
  EXPECT_NE(reference.find("failover.recover_probes"), std::string::npos);
}

TEST(GatewayConfig, LinksAreRequiredAndNotEmpty) {
  EXPECT_TRUE(has_error(load_gateway_config(R"({"network": {"port": 8000}})", "g").report, "links", "required"));
  EXPECT_TRUE(has_error(load_gateway_config(R"({"links": []})", "g").report, "links", "no links"));
  EXPECT_TRUE(has_error(load_gateway_config(R"({"links": {"name": "a"}})", "g").report, "links", "list of objects"));
  EXPECT_TRUE(has_error(load_gateway_config(R"({"links": ["http://a:1"]})", "g").report, "links", "item 0"));
}

TEST(GatewayConfig, EachLinkIsCheckedWithItsFieldNamed) {
  auto report = [](const std::string& links) { return load_gateway_config(R"({"links": )" + links + "}", "g").report; };
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "http://h:1"}, {"name": "a", "url": "http://h:2"}])"),
                        "links[1].name", "duplicate"));
  EXPECT_TRUE(has_error(report(R"([{"url": "http://h:1"}])"), "links[0].name", "needs a name"));
  EXPECT_TRUE(has_error(report(R"([{"name": "a"}])"), "links[0].url", "needs a url"));
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "h:1"}])"), "links[0].url", "http://"));
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "ftp://h:1"}])"), "links[0].url", "http://"));
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "http://h:99999"}])"), "links[0].url", "bad port"));
  EXPECT_FALSE(report(R"([{"name": "a", "url": "http://h:1", "protocol": "grpc"}])").has_errors());
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "http://h:1/v1", "protocol": "grpc"}])"), "links[0].url",
                        "no path"));
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "http://h:1", "protocol": "smtp"}])"), "links[0].protocol",
                        "use \"http\""));
  EXPECT_TRUE(has_error(report(R"([{"name": "a", "url": "http://h:1", "nmae": "b"}])"), "links[0].nmae",
                        "did you mean name"));
  EXPECT_TRUE(has_error(report(R"([{"name": 3, "url": "http://h:1"}])"), "links[0].name", "expected a string"));
}

TEST(GatewayConfig, UnknownKeysAreErrorsWithASuggestion) {
  const auto r = load_gateway_config(
      R"({"links": [{"name": "a", "url": "http://h:1"}], "failover": {"latency_treshold_ms": 100}, "linkz": 1})", "g");
  EXPECT_TRUE(has_error(r.report, "failover.latency_treshold_ms", "did you mean failover.latency_threshold_ms"));
  EXPECT_TRUE(has_error(r.report, "linkz", "unknown option"));
}

TEST(GatewayConfig, ValuesAreCheckedAgainstTheirDeclaration) {
  const auto r = load_gateway_config(R"({"links": [{"name": "a", "url": "http://h:1"}],
    "failover": {"probe_interval_ms": 0, "slow_probes": "three", "latency_threshold_ms": -1},
    "network": {"port": 70000}})",
                                     "g");
  EXPECT_TRUE(has_error(r.report, "failover.probe_interval_ms", "outside"));
  EXPECT_TRUE(has_error(r.report, "failover.slow_probes", "expected an integer"));
  EXPECT_TRUE(has_error(r.report, "failover.latency_threshold_ms", "outside"));
  EXPECT_TRUE(has_error(r.report, "network.port", "not a TCP port"));
}

TEST(GatewayConfig, FlagsOverrideTheFile) {
  const auto r = load_gateway_config(kExample, "g", {{"port", "9100"}, {"failover.slow_probes", "5"},
                                                     {"links", R"([{"name": "x", "url": "http://127.0.0.1:1"}])"}});
  ASSERT_FALSE(r.report.has_errors()) << r.report.to_string();
  EXPECT_EQ(r.config.port, 9100);
  EXPECT_EQ(r.config.slow_probes, 5);
  ASSERT_EQ(r.config.links.size(), 1u);
  EXPECT_EQ(r.config.links[0].name, "x");
  EXPECT_TRUE(has_error(load_gateway_config(kExample, "g", {{"prot", "1"}}).report, "--prot", "did you mean --port"));
}

TEST(GatewayConfig, LinkUrlsAreSplit) {
  LinkConfig link;
  ASSERT_TRUE(parse_link_url("http://backend.lan:8080/tandem/", link).ok());
  EXPECT_EQ(link.host, "backend.lan");
  EXPECT_EQ(link.port, 8080);
  EXPECT_EQ(link.base_path, "/tandem");
  ASSERT_TRUE(parse_link_url("http://10.0.0.2", link).ok());
  EXPECT_EQ(link.port, 80);
  EXPECT_EQ(link.base_path, "");
  ASSERT_TRUE(parse_link_url("http://[::1]:9000", link).ok());
  EXPECT_EQ(link.host, "::1");
  EXPECT_EQ(link.port, 9000);
  EXPECT_FALSE(parse_link_url("http://", link).ok());
  EXPECT_FALSE(parse_link_url("http://user:pw@h:1", link).ok());
  EXPECT_FALSE(parse_link_url("http://h:1/x?y=1", link).ok());
  EXPECT_FALSE(parse_link_url("https://h:1", link).ok());
  EXPECT_FALSE(parse_link_url("http://h:0", link).ok());
  EXPECT_FALSE(parse_link_url("http://not a url", link).ok());
}

}  // namespace
}  // namespace tandem::gateway

namespace tandem::gateway {
namespace {

// The example file shipped beside the code loads with no problem at all.
TEST(GatewayConfig, TheExampleFileIsClean) {
  const auto loaded = load_gateway_config_file(std::string(TANDEM_TEST_DATA) + "/../../gateway/gateway.example.json");
  EXPECT_TRUE(loaded.report.problems.empty()) << loaded.report.to_string();
  EXPECT_EQ(loaded.config.links.size(), 2u);
}

}  // namespace
}  // namespace tandem::gateway
