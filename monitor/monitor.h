#pragma once
// The monitor: samples its collectors once a second into ring buffers, evaluates the rules on the
// fresh values (one loop, one thread) and runs the named action of each rule that fires or
// resolves. It answers /api/stats (current values and recent series), /api/alerts (firing now,
// and history with start and end times and the action taken) and its part of /metrics.
//
// Actions run on the monitor's thread and must return quickly: one that has slow work to do
// (unload a model, POST a webhook) hands it to its own thread and returns what it started.
// All public methods are thread-safe.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "monitor/reading.h"
#include "monitor/ring_buffer.h"
#include "monitor/rule_engine.h"
#include "monitor/webhook.h"

namespace tandem::monitor {

struct MonitorOptions {
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  std::string nvml_library = "libnvidia-ml.so.1";  // "" = no NVML
  bool host_collectors = true;                     // false: only the collectors added (tests)
  std::vector<Rule> rules;
  size_t history_points = 300;  // samples kept per series (5 minutes at one a second)
  double interval_seconds = 1;
  int gpu = -1;  // the GPU holding the model: memory_used_ratio is its memory; -1 = host memory
  std::string source = "tandem";  // names the process in webhook payloads ("tandem serve")
  // Where transitions and action results are logged; nullptr = nowhere.
  std::function<void(bool warning, const std::string& line)> log;
};

// What an action is told when its rule fires or resolves.
struct AlertEvent {
  const Rule& rule;
  RuleValue value;
  bool firing = true;
  double started_at = 0;  // Unix seconds
  double ended_at = 0;    // Unix seconds; 0 while firing
};

// An action returns what it did, for the history ("model unloading", "webhook queued").
using ActionFunction = std::function<std::string(const AlertEvent&)>;
struct Action {
  ActionFunction fire;
  ActionFunction resolve;  // may be empty: nothing to undo
};

// The actions every command has: log and webhook.
std::vector<std::string> builtin_actions();

class Monitor {
 public:
  explicit Monitor(MonitorOptions options);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Before start(): more collectors (the engine's, the links'), and the command's own actions.
  void add_collector(std::unique_ptr<Collector> collector);
  void set_action(const std::string& name, Action action);

  void start();
  void stop();  // safe to call twice; the destructor calls it

  // One round of the loop at the given times (start() calls it once a second; tests call it).
  void sample_once(double now_monotonic, double now_unix);

  // The latest value of a metric (the highest of its series); nullopt when absent.
  std::optional<double> latest(const std::string& name) const;
  bool firing(const std::string& rule) const;

  nlohmann::json stats_json() const;
  nlohmann::json alerts_json() const;
  std::string render_prometheus() const;  // host metrics, tandem_alert_firing, the monitor's own cost

  double cpu_seconds() const { return cpu_seconds_.load(); }  // the loop thread's CPU time so far

 private:
  struct Series {
    std::string name;
    Labels labels;
    RingBuffer<std::pair<double, double>> points;  // Unix seconds, value
    bool current = false;                          // in the latest sample
  };
  struct Record {
    uint64_t id = 0;
    size_t rule = 0;
    RuleValue value;
    double started_at = 0;
    double ended_at = 0;  // 0 = firing
    std::string action_result;
    std::string resolve_result;
  };

  void run();
  void log(bool warning, const std::string& line) const;
  std::string describe(const AlertEvent& event) const;
  std::string alert_body(const AlertEvent& event) const;

  MonitorOptions options_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::map<std::string, Action> actions_;
  std::unique_ptr<WebhookSender> webhooks_;

  mutable std::mutex mutex_;
  std::map<std::string, Series> series_;  // by name and labels
  Readings current_;
  std::map<std::string, bool> sources_;   // collector -> present in the latest sample
  RuleEngine engine_;
  std::deque<Record> history_;            // newest last; bounded
  uint64_t next_id_ = 1;
  double last_sample_unix_ = 0;
  double started_unix_ = 0;

  std::atomic<double> cpu_seconds_{0};
  std::mutex loop_mutex_;
  std::condition_variable loop_wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tandem::monitor
