#pragma once
// Turns one second's raw readings into the dashboard's series: the links' /metrics text (counters
// become rates, histograms become p50/p95 over the last 10 s), the gateway's own link snapshot
// (probe round trips, requests) and the gateway host's network counters. A pure function of its
// inputs and of the previous readings, so it is tested without sockets or clocks.
//
// Series names (the page's chart-<name> groups them):
//   requests_per_s, errors_per_s             gateway, all links
//   ttft_p50_ms, ttft_p95_ms, e2e_p50_ms, e2e_p95_ms   backends' histograms, all links together
//   tokens_per_s, running, queued, kv_cache_ratio       backends, summed; kv_cache_ratio is the
//                                            largest tandem_kv_cache_usage_ratio (absent: none reported)
//   memory_bytes.<link>                      GPU memory when reported, else host, else the server's RSS
//   net_rx_bytes_per_s, net_tx_bytes_per_s   the links' hosts when reported, else the gateway's
//   temperature_c.<link>, power_w.<link>     when the host exposes them
//   rtt_ms.<link>, state.<link>              0 healthy, 1 slow, 2 down

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/links/link_set.h"

namespace tandem::gateway {

struct DashboardInputs {
  LinksSnapshot links;
  std::vector<std::optional<std::string>> link_metrics;  // per link; nullopt = not answered
  std::optional<std::pair<double, double>> host_net_bytes;  // the gateway host's rx, tx totals
};

class DashboardSampler {
 public:
  // Values for this second; a series with nothing to report this second is left out.
  std::map<std::string, double> sample(const DashboardInputs& in);

 private:
  struct Counters {
    double requests = 0, errors = 0, rx = 0, tx = 0;
    bool have_net = false;
  };
  std::optional<Counters> previous_;
  std::map<std::string, double> previous_tokens_;  // generated tokens per link
  // Cumulative histogram buckets (le -> count) of the last 11 seconds, oldest first.
  std::deque<std::map<double, double>> ttft_history_, e2e_history_;
};

// The gateway host's bytes received and sent, all interfaces but loopback when others moved data,
// from a /proc/net/dev text; nullopt when unreadable.
std::optional<std::pair<double, double>> parse_net_dev(const std::string& text, bool include_loopback);

// The q-quantile (0..1) of the observations between two cumulative bucket maps, by linear
// interpolation inside the bucket (as Prometheus' histogram_quantile); nullopt with none.
std::optional<double> histogram_quantile(const std::map<double, double>& older, const std::map<double, double>& newer,
                                         double q);

}  // namespace tandem::gateway
