#pragma once
// The server's metrics, rendered in the Prometheus text format (version 0.0.4) at GET /metrics.
// Every method is thread-safe; counters and gauges are lock-free.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::metrics {

class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative buckets as Prometheus wants them; bounds in seconds, ascending.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct ServerMetrics {
  ServerMetrics();

  // HTTP: one per answered request, labelled by route ("other" for unknown paths) and status.
  void record_response(std::string_view route, int status);

  Gauge queue_depth;       // requests waiting for the model
  Gauge running;           // sequences being generated
  Gauge model_loaded;      // 1 when a model serves requests
  Gauge kv_cache_used_cells;      // KV cache positions held by running sequences
  Gauge kv_cache_capacity_cells;  // all the loaded model's positions; 0 without a model
  Counter prompt_tokens;   // prompt tokens of started generations
  Counter prompt_tokens_reused;  // of those, tokens whose KV came from the prefix cache
  Counter generated_tokens;
  Counter rejected_queue_full;
  Counter cancelled;       // generations ended because the client left
  Histogram time_to_first_token;  // submit -> first text, seconds
  Histogram inter_token_latency;  // between streamed pieces, seconds
  Histogram request_duration;     // submit -> last token, seconds

  std::string render_prometheus() const;

  // More exposition text appended to render_prometheus(): the monitor's host metrics and alerts
  // (monitor/monitor.h). Set once at start-up, before the HTTP server starts.
  void set_extra_renderer(std::function<std::string()> render) { extra_renderer_ = std::move(render); }

 private:
  std::function<std::string()> extra_renderer_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> responses_;
};

// Resident set size of this process in bytes (from /proc/self/statm); 0 when unknown.
uint64_t process_resident_bytes();

}  // namespace tandem::metrics
