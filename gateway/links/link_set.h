#pragma once
// The links at run time: each link's health, probe round-trip times and request counters, the
// active link and the switch history. Probes and requests report here; the proxy asks it which link
// serves. The rule itself is failover_rule.h; this class adds the clock, the lock and the record.
// Thread-safe: every method takes the one mutex, briefly.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/gateway_config.h"
#include "gateway/links/failover_rule.h"
#include "gateway/links/rtt_stats.h"
#include "metrics/metrics.h"

namespace tandem::gateway {

struct SwitchEvent {
  std::string time;  // ISO 8601, UTC
  std::string from;  // link name, "" = none
  std::string to;
  std::string reason;
};

struct LinkSnapshot {
  std::string name, url, protocol, group;
  LinkState state = LinkState::kDown;
  std::string reason;
  std::optional<double> rtt_last, rtt_p50, rtt_p95, rtt_ewma;
  int64_t in_flight = 0;
  uint64_t requests_total = 0;
  uint64_t errors_total = 0;
  uint64_t probes_total = 0;
  uint64_t probe_failures_total = 0;
  metrics::Histogram::Snapshot probe_rtt;
  std::map<int, uint64_t> responses;  // by status
};

struct LinksSnapshot {
  int active = -1;
  GatewayMode mode = GatewayMode::kDegraded;
  std::vector<LinkSnapshot> links;
  std::vector<SwitchEvent> events;  // oldest first
  uint64_t switches_total = 0;
};

class LinkSet {
 public:
  LinkSet(std::vector<LinkConfig> links, FailoverRules rules);

  size_t size() const { return configs_.size(); }
  const LinkConfig& config(size_t i) const { return configs_[i]; }

  void record_probe(size_t link, const ProbeOutcome& outcome);
  // A real request could not connect, or lost its connection: the link is down at once.
  void record_connection_error(size_t link, const std::string& why);

  // The link for a new request, or -1 when none can serve. Skips links whose bit is set in
  // `excluded` (those a request has already failed on). With groups, the active link's group
  // shares the load: its healthy member with the fewest requests in flight. A request naming a
  // `model` that the active link does not list goes to the first live link that does (healthy
  // ones first); when no link lists it, the usual choice stands (and its backend says 404).
  int pick(uint64_t excluded = 0, std::string_view model = {});

  // The model ids a link's GET /v1/models listed (the prober refreshes them).
  void set_models(size_t link, std::vector<std::string> models);
  // True when the links do not all list the same models, so requests must be routed by model.
  bool routes_by_model() const;
  // A request starts and ends on a link (status 499 = the client left, 0 = no HTTP answer).
  void begin_request(size_t link);
  void end_request(size_t link, int status, bool failed);

  bool can_serve() const;
  // "primary: down (connection refused); backup: down (2 probes failed in a row: timed out)".
  std::string failure_summary() const;
  LinksSnapshot snapshot() const;

 private:
  struct Link {
    LinkHealth health;
    RttStats rtt;
    metrics::Histogram probe_rtt;
    int64_t in_flight = 0;
    uint64_t requests_total = 0;
    uint64_t errors_total = 0;
    uint64_t probes_total = 0;
    uint64_t probe_failures_total = 0;
    std::map<int, uint64_t> responses;
    std::vector<std::string> models;  // empty = not known yet
    Link();
  };
  void reselect_locked();
  std::vector<LinkView> views_locked() const;
  double now_s() const;

  std::vector<LinkConfig> configs_;
  FailoverRules rules_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Link>> links_;
  SelectionState selection_;
  std::deque<SwitchEvent> events_;
  uint64_t switches_total_ = 0;
  bool routes_by_model_ = false;
  std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
};

}  // namespace tandem::gateway
