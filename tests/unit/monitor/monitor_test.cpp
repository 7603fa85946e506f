#include "monitor/monitor.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "fixture_tree.h"
#include "monitor/collectors.h"

namespace tandem::monitor {
namespace {

using nlohmann::json;
using testing::FixtureTree;

Rule hot_rule(std::string action = "log") {
  Rule r;
  r.name = "temperature_high";
  r.metric = "temperature_celsius";
  r.threshold = 75;
  r.for_seconds = 2;
  r.action = std::move(action);
  return r;
}

MonitorOptions fixture_options(const FixtureTree& tree, std::vector<Rule> rules) {
  MonitorOptions o;
  o.host_collectors = false;
  o.proc_root = tree.root();
  o.sys_root = tree.root();
  o.rules = std::move(rules);
  o.history_points = 3;
  return o;
}

TEST(Monitor, RunsTheActionOnFireAndResolveAndKeepsHistory) {
  FixtureTree tree;
  tree.write("class/thermal/thermal_zone0/type", "cpu\n");
  tree.write("class/thermal/thermal_zone0/temp", "80000\n");
  Monitor monitor(fixture_options(tree, {hot_rule("reduce_batch")}));
  monitor.add_collector(std::make_unique<TemperatureCollector>(tree.root()));
  std::vector<std::string> calls;
  monitor.set_action("reduce_batch", Action{[&](const AlertEvent& e) {
                                              calls.push_back("fire " + e.rule.name);
                                              return std::string("batch 4 -> 2");
                                            },
                                            [&](const AlertEvent& e) {
                                              calls.push_back("resolve " + e.rule.name);
                                              return std::string("batch back to 4");
                                            }});
  monitor.sample_once(100, 1000);
  monitor.sample_once(101, 1001);
  EXPECT_TRUE(calls.empty());
  EXPECT_FALSE(monitor.firing("temperature_high"));
  monitor.sample_once(102, 1002);
  ASSERT_EQ(calls, (std::vector<std::string>{"fire temperature_high"}));
  EXPECT_TRUE(monitor.firing("temperature_high"));
  json alerts = monitor.alerts_json();
  ASSERT_EQ(alerts["firing"].size(), 1u);
  EXPECT_EQ(alerts["firing"][0]["rule"], "temperature_high");
  EXPECT_EQ(alerts["firing"][0]["action"], "reduce_batch");
  EXPECT_EQ(alerts["firing"][0]["action_result"], "batch 4 -> 2");
  EXPECT_EQ(alerts["firing"][0]["labels"]["sensor"], "thermal/cpu");
  EXPECT_DOUBLE_EQ(alerts["firing"][0]["started_at"].get<double>(), 1002);
  EXPECT_TRUE(alerts["firing"][0]["ended_at"].is_null());
  EXPECT_NE(monitor.render_prometheus().find("tandem_alert_firing{rule=\"temperature_high\"} 1\n"), std::string::npos);

  tree.write("class/thermal/thermal_zone0/temp", "60000\n");
  monitor.sample_once(103, 1003);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1], "resolve temperature_high");
  alerts = monitor.alerts_json();
  EXPECT_TRUE(alerts["firing"].empty());
  ASSERT_EQ(alerts["history"].size(), 1u);
  EXPECT_EQ(alerts["history"][0]["state"], "resolved");
  EXPECT_DOUBLE_EQ(alerts["history"][0]["ended_at"].get<double>(), 1003);
  EXPECT_EQ(alerts["history"][0]["resolve_result"], "batch back to 4");
  EXPECT_EQ(alerts["rules"][0]["state"], "ok");
  EXPECT_NE(monitor.render_prometheus().find("tandem_alert_firing{rule=\"temperature_high\"} 0\n"), std::string::npos);
}

TEST(Monitor, StatsKeepTheLastPointsAndSayWhatIsAbsent) {
  FixtureTree tree;
  tree.write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 100 kB\n");
  Monitor monitor(fixture_options(tree, {}));
  monitor.add_collector(std::make_unique<MemoryCollector>(tree.root()));
  monitor.add_collector(std::make_unique<TemperatureCollector>(tree.root()));
  for (int i = 0; i < 5; ++i) monitor.sample_once(i, 1000 + i);
  const json stats = monitor.stats_json();
  EXPECT_EQ(stats["sources"]["meminfo"], "present");
  EXPECT_EQ(stats["sources"]["temperature"], "absent");
  bool found = false;
  for (const auto& s : stats["series"]) {
    if (s["name"] != "memory_used_ratio") continue;
    found = true;
    ASSERT_EQ(s["points"].size(), 3u) << "history_points";
    EXPECT_DOUBLE_EQ(s["points"][0][0].get<double>(), 1002);
    EXPECT_DOUBLE_EQ(s["points"][2][1].get<double>(), 0.9);
  }
  EXPECT_TRUE(found);
  EXPECT_DOUBLE_EQ(*monitor.latest("memory_used_ratio"), 0.9);
  EXPECT_FALSE(monitor.latest("temperature_celsius"));
  const std::string text = monitor.render_prometheus();
  EXPECT_NE(text.find("# TYPE tandem_host_memory_used_bytes gauge\ntandem_host_memory_used_bytes 921600\n"),
            std::string::npos);
  EXPECT_NE(text.find("tandem_memory_used_ratio 0.9\n"), std::string::npos);
  EXPECT_NE(text.find("tandem_monitor_source_up{source=\"temperature\"} 0\n"), std::string::npos);
  EXPECT_EQ(text.find("tandem_temperature_celsius"), std::string::npos) << "absent is not zero";
}

TEST(Monitor, CooldownIsReportedInTheHistory) {
  FixtureTree tree;
  tree.write("class/thermal/thermal_zone0/temp", "80000\n");
  Rule r = hot_rule("reduce_batch");
  r.for_seconds = 0;
  Monitor monitor(fixture_options(tree, {r}));
  monitor.add_collector(std::make_unique<TemperatureCollector>(tree.root()));
  int fired = 0;
  monitor.set_action("reduce_batch", Action{[&](const AlertEvent&) { return std::to_string(++fired); }, nullptr});
  monitor.sample_once(0, 0);
  tree.write("class/thermal/thermal_zone0/temp", "20000\n");
  monitor.sample_once(1, 1);
  tree.write("class/thermal/thermal_zone0/temp", "80000\n");
  monitor.sample_once(2, 2);
  EXPECT_EQ(fired, 1);
  const json alerts = monitor.alerts_json();
  EXPECT_NE(alerts["firing"][0]["action_result"].get<std::string>().find("cooldown"), std::string::npos);
}

// A one-shot HTTP receiver on a real loopback socket: accepts, reads one request, answers 204.
class Receiver {
 public:
  Receiver() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] {
      const int c = accept(fd_, nullptr, nullptr);
      std::string got;
      char buf[4096];
      while (got.find("}") == std::string::npos) {
        const ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      const std::string answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
      (void)!write(c, answer.data(), answer.size());
      close(c);
      request_ = got;
    });
  }
  ~Receiver() {
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(Webhook, PostsTheAlertAsJson) {
  Receiver receiver;
  auto posted = post_json("http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook", R"({"rule":"x"})", 5);
  ASSERT_TRUE(posted) << posted.error();
  EXPECT_EQ(*posted, 204);
  const std::string request = receiver.request();
  EXPECT_EQ(request.rfind("POST /hook HTTP/1.1\r\n", 0), 0u) << request;
  EXPECT_NE(request.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(request.find(R"({"rule":"x"})"), std::string::npos);
}

TEST(Webhook, ADeadReceiverIsAnErrorNotAHang) {
  // Port 1 on loopback: nothing listens there.
  const auto posted = post_json("http://127.0.0.1:1/hook", "{}", 2);
  ASSERT_FALSE(posted);
  EXPECT_NE(posted.error().find("127.0.0.1:1"), std::string::npos) << posted.error();
  EXPECT_FALSE(post_json("https://example.com/", "{}", 1));
}

}  // namespace
}  // namespace tandem::monitor
