#include <gtest/gtest.h>

#include "gateway/timeseries/dashboard_sampler.h"
#include "gateway/timeseries/prometheus_text.h"
#include "gateway/timeseries/series_store.h"

namespace tandem::gateway {
namespace {

TEST(PrometheusText, ReadsNamesLabelsAndValuesAndSkipsJunk) {
  const auto samples = parse_prometheus_text(
      "# HELP x y\n# TYPE x counter\nx 3\nh_bucket{le=\"0.5\",link=\"a \\\"b\\\"\"} 2\n"
      "broken{le=\"1\" 4\n  \nno_value\ny{a=\"1\"} +Inf\nz 1.5e3 1700000000\n");
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[0].name, "x");
  EXPECT_EQ(samples[0].value, 3);
  EXPECT_EQ(samples[1].labels.at("le"), "0.5");
  EXPECT_EQ(samples[1].labels.at("link"), "a \"b\"");
  EXPECT_TRUE(std::isinf(samples[2].value));
  EXPECT_EQ(samples[3].value, 1500);
}

TEST(SeriesStore, SecondsThenMinuteMeansAndAbsentValues) {
  SeriesStore store(SeriesLayout{5, 3});
  const int64_t t0 = 60 * 1000;  // on a minute boundary
  store.add(t0, {{"a", 1}});
  store.add(t0 + 1, {{"a", 3}, {"b", 10}});
  store.add(t0 + 3, {{"a", 5}});  // t0 + 2 skipped: absent
  auto j = store.to_json(false);
  EXPECT_EQ(j["step"], 1);
  EXPECT_EQ(j["end"], t0 + 3);
  EXPECT_EQ(j["series"]["a"], nlohmann::json::parse("[1, 3, null, 5]"));
  // "b" appeared at t0 + 1 and was absent after.
  EXPECT_EQ(j["series"]["b"], nlohmann::json::parse("[null, 10, null, null]"));
  // The ring keeps the last 5 seconds.
  for (int i = 4; i < 10; ++i) store.add(t0 + i, {{"a", static_cast<double>(i)}});
  EXPECT_EQ(store.to_json(false)["series"]["a"], nlohmann::json::parse("[5, 6, 7, 8, 9]"));
  // Crossing into the next minute closes the first one with its mean over the seconds present.
  store.add(t0 + 60, {{"a", 100}});
  auto m = store.to_json(true);
  EXPECT_EQ(m["step"], 60);
  EXPECT_EQ(m["end"], t0);
  const auto minutes = m["series"]["a"];
  ASSERT_FALSE(minutes.empty());
  EXPECT_NEAR(minutes.back().get<double>(), (1 + 3 + 5 + 4 + 5 + 6 + 7 + 8 + 9) / 9.0, 1e-3);  // sent to 3 decimals
}

TEST(SeriesStore, SinceGivesOnlyThePointsAfterIt) {
  SeriesStore store(SeriesLayout{5, 3});
  const int64_t t0 = 60 * 1000;
  store.add(t0, {{"a", 1}});
  store.add(t0 + 1, {{"a", 2}});
  const int64_t end = store.to_json(false)["end"];
  EXPECT_EQ(store.to_json(false, end)["series"]["a"], nlohmann::json::array());  // nothing new yet
  store.add(t0 + 2, {{"a", 3}, {"b", 7}});
  store.add(t0 + 4, {{"a", 5}});  // t0 + 3 skipped: absent
  auto j = store.to_json(false, end);
  EXPECT_EQ(j["end"], t0 + 4);
  EXPECT_EQ(j["series"]["a"], nlohmann::json::parse("[3, null, 5]"));
  EXPECT_EQ(j["series"]["b"], nlohmann::json::parse("[7, null, null]"));  // new series: same length
  // Past the end: nothing; older than the ring: the whole ring, as without since.
  EXPECT_EQ(store.to_json(false, t0 + 99)["series"]["a"], nlohmann::json::array());
  EXPECT_EQ(store.to_json(false, 0)["series"]["a"], store.to_json(false)["series"]["a"]);
  // Minute points: only the minutes closed after since.
  store.add(t0 + 60, {{"a", 10}});
  store.add(t0 + 120, {{"a", 20}});
  auto m = store.to_json(true, t0);
  EXPECT_EQ(m["step"], 60);
  EXPECT_EQ(m["end"], t0 + 60);
  EXPECT_EQ(m["series"]["a"], nlohmann::json::parse("[10]"));
}

TEST(HistogramQuantile, InterpolatesInsideTheBucketOfTheWindow) {
  const std::map<double, double> before = {{0.1, 10}, {0.5, 10}, {1.0, 10}, {INFINITY, 10}};
  const std::map<double, double> after = {{0.1, 10}, {0.5, 14}, {1.0, 20}, {INFINITY, 20}};
  // 10 new observations: 4 in (0.1, 0.5], 6 in (0.5, 1].
  EXPECT_NEAR(*histogram_quantile(before, after, 0.5), 0.5 + 0.5 * (1.0 / 6.0), 1e-9);
  EXPECT_NEAR(*histogram_quantile(before, after, 0.2), 0.1 + 0.4 * 0.5, 1e-9);
  EXPECT_FALSE(histogram_quantile(after, after, 0.5));
  // Past the last finite bound: that bound.
  EXPECT_EQ(*histogram_quantile({{1.0, 0}, {INFINITY, 0}}, {{1.0, 0}, {INFINITY, 3}}, 0.5), 1.0);
}

TEST(NetDev, SumsInterfaces) {
  const std::string text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo: 100 1 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n"
      "  eth0: 1000 10 0 0 0 0 0 0 3000 30 0 0 0 0 0 0\n";
  EXPECT_EQ(*parse_net_dev(text, true), std::make_pair(1100.0, 3200.0));
  EXPECT_EQ(*parse_net_dev(text, false), std::make_pair(1000.0, 3000.0));
  EXPECT_FALSE(parse_net_dev("garbage", true));
}

LinksSnapshot two_links(uint64_t requests, std::optional<double> rtt) {
  LinksSnapshot s;
  LinkSnapshot a;
  a.name = "primary";
  a.state = LinkState::kHealthy;
  a.requests_total = requests;
  a.rtt_last = rtt;
  LinkSnapshot b;
  b.name = "backup";
  b.state = LinkState::kDown;
  s.links = {a, b};
  return s;
}

std::string backend_metrics(double tokens, double ttft_fast, double ttft_slow) {
  return "tandem_generated_tokens_total " + std::to_string(tokens) +
         "\ntandem_running_sequences 2\ntandem_queue_depth 1\ntandem_process_resident_memory_bytes 1000\n"
         "tandem_time_to_first_token_seconds_bucket{le=\"0.1\"} " + std::to_string(ttft_fast) +
         "\ntandem_time_to_first_token_seconds_bucket{le=\"1\"} " + std::to_string(ttft_fast + ttft_slow) +
         "\ntandem_time_to_first_token_seconds_bucket{le=\"+Inf\"} " + std::to_string(ttft_fast + ttft_slow) + "\n";
}

TEST(DashboardSampler, RatesGaugesPercentilesAndLinkSeries) {
  DashboardSampler sampler;
  DashboardInputs in;
  in.links = two_links(10, 12.5);
  in.link_metrics = {backend_metrics(100, 0, 0), std::nullopt};
  in.host_net_bytes = std::make_pair(1000.0, 2000.0);
  auto first = sampler.sample(in);
  EXPECT_FALSE(first.count("requests_per_s"));  // no rate without a previous second
  EXPECT_EQ(first.at("rtt_ms.primary"), 12.5);
  EXPECT_EQ(first.at("state.primary"), 0);
  EXPECT_EQ(first.at("state.backup"), 2);
  EXPECT_FALSE(first.count("rtt_ms.backup"));
  EXPECT_EQ(first.at("running"), 2);
  EXPECT_EQ(first.at("queued"), 1);
  EXPECT_EQ(first.at("memory_bytes.primary"), 1000);

  in.links = two_links(13, 15);
  in.link_metrics = {backend_metrics(150, 9, 1), std::nullopt};
  in.host_net_bytes = std::make_pair(1500.0, 2100.0);
  auto second = sampler.sample(in);
  EXPECT_EQ(second.at("requests_per_s"), 3);
  EXPECT_EQ(second.at("tokens_per_s"), 50);
  EXPECT_EQ(second.at("net_rx_bytes_per_s"), 500);
  EXPECT_EQ(second.at("net_tx_bytes_per_s"), 100);
  EXPECT_NEAR(second.at("ttft_p50_ms"), 0.1 * 5 / 9 * 1000, 1e-6);
  EXPECT_GT(second.at("ttft_p95_ms"), 100);

  // The primary stops answering: no negative token rate, no backend gauges.
  in.link_metrics = {std::nullopt, std::nullopt};
  auto third = sampler.sample(in);
  EXPECT_FALSE(third.count("running"));
  EXPECT_FALSE(third.count("tokens_per_s"));
}

TEST(DashboardSampler, KvCacheRatioIsTheFullestLinksAndAbsentWhenNoneReports) {
  DashboardSampler sampler;
  DashboardInputs in;
  in.links = two_links(1, 1);
  in.links.links[1].state = LinkState::kHealthy;
  in.link_metrics = {backend_metrics(1, 0, 0), backend_metrics(1, 0, 0)};
  EXPECT_FALSE(sampler.sample(in).count("kv_cache_ratio"));  // a backend without a model exports none
  in.link_metrics = {backend_metrics(1, 0, 0) + "tandem_kv_cache_used_cells 256\ntandem_kv_cache_usage_ratio 0.25\n",
                     backend_metrics(1, 0, 0) + "tandem_kv_cache_usage_ratio 0.5\n"};
  EXPECT_EQ(sampler.sample(in).at("kv_cache_ratio"), 0.5);
}

}  // namespace
}  // namespace tandem::gateway
