#include "gateway/timeseries/dashboard_sampler.h"

#include <cmath>
#include <sstream>

#include "gateway/timeseries/prometheus_text.h"

namespace tandem::gateway {
namespace {

// Backends' metric names with or without the "tandem_" prefix.
std::string_view base_name(std::string_view name) {
  if (name.starts_with("tandem_")) name.remove_prefix(7);
  return name;
}

void add_bucket(std::map<double, double>& buckets, const PromSample& s) {
  const auto le = s.labels.find("le");
  if (le == s.labels.end()) return;
  const double bound = le->second == "+Inf" ? INFINITY : std::strtod(le->second.c_str(), nullptr);
  buckets[bound] += s.value;
}

}  // namespace

std::optional<double> histogram_quantile(const std::map<double, double>& older, const std::map<double, double>& newer,
                                         double q) {
  std::vector<std::pair<double, double>> delta;  // bound, cumulative count in the window
  for (const auto& [bound, count] : newer) {
    const auto it = older.find(bound);
    delta.emplace_back(bound, std::max(0.0, count - (it == older.end() ? 0.0 : it->second)));
  }
  if (delta.empty() || delta.back().second <= 0) return std::nullopt;
  const double total = delta.back().second;
  const double rank = q * total;
  double lower_bound = 0, lower_count = 0;
  for (const auto& [bound, count] : delta) {
    if (count >= rank && count > 0) {
      if (std::isinf(bound)) return lower_bound;  // past the last finite bucket: its bound
      const double in_bucket = count - lower_count;
      if (in_bucket <= 0) return bound;
      return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket;
    }
    lower_bound = bound;
    lower_count = count;
  }
  return lower_bound;
}

std::optional<std::pair<double, double>> parse_net_dev(const std::string& text, bool include_loopback) {
  std::istringstream in(text);
  std::string line;
  double rx = 0, tx = 0;
  bool any = false;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo" && !include_loopback) continue;
    std::istringstream fields(line.substr(colon + 1));
    double v[9] = {};
    for (double& x : v) fields >> x;
    if (!fields) continue;
    rx += v[0];  // receive bytes
    tx += v[8];  // transmit bytes
    any = true;
  }
  if (!any) return std::nullopt;
  return std::make_pair(rx, tx);
}

std::map<std::string, double> DashboardSampler::sample(const DashboardInputs& in) {
  std::map<std::string, double> out;
  Counters now;
  // The gateway's own counters.
  for (const auto& l : in.links.links) {
    now.requests += static_cast<double>(l.requests_total);
    now.errors += static_cast<double>(l.errors_total);
    if (l.rtt_last) out["rtt_ms." + l.name] = *l.rtt_last;
    out["state." + l.name] = l.state == LinkState::kHealthy ? 0 : l.state == LinkState::kSlow ? 1 : 2;
  }
  // The links' metrics.
  std::map<double, double> ttft, e2e;
  std::map<std::string, double> tokens;  // per link, so a link that stops answering is no negative rate
  bool any_backend = false, have_kv = false, backend_net = false;
  double running = 0, queued = 0, kv = 0, net_rx = 0, net_tx = 0;
  for (size_t i = 0; i < in.link_metrics.size() && i < in.links.links.size(); ++i) {
    if (!in.link_metrics[i]) continue;
    any_backend = true;
    const std::string& link = in.links.links[i].name;
    std::optional<double> gpu_mem, host_mem, rss, temperature;
    double power = 0;
    bool have_power = false;
    for (const PromSample& s : parse_prometheus_text(*in.link_metrics[i])) {
      const std::string_view name = base_name(s.name);
      if (name == "time_to_first_token_seconds_bucket") add_bucket(ttft, s);
      else if (name == "request_duration_seconds_bucket") add_bucket(e2e, s);
      else if (name == "generated_tokens_total") tokens[link] += s.value;
      else if (name == "running_sequences") running += s.value;
      else if (name == "queue_depth") queued += s.value;
      else if (name == "kv_cache_usage_ratio") { kv = std::max(kv, s.value); have_kv = true; }
      else if (name == "gpu_memory_used_bytes") gpu_mem = gpu_mem.value_or(0) + s.value;
      else if (name == "host_memory_used_bytes") host_mem = s.value;
      else if (name == "process_resident_memory_bytes") rss = s.value;
      else if (name == "temperature_celsius") temperature = std::max(temperature.value_or(-1e9), s.value);
      else if (name == "power_watts") { power += s.value; have_power = true; }
      else if (name == "network_receive_bytes_total" || name == "network_transmit_bytes_total") {
        const auto dev = s.labels.find("device");
        if (dev != s.labels.end() && dev->second == "lo") continue;
        (name == "network_receive_bytes_total" ? net_rx : net_tx) += s.value;
        backend_net = true;
      }
    }
    if (gpu_mem) out["memory_bytes." + link] = *gpu_mem;
    else if (host_mem) out["memory_bytes." + link] = *host_mem;
    else if (rss) out["memory_bytes." + link] = *rss;
    if (temperature) out["temperature_c." + link] = *temperature;
    if (have_power) out["power_w." + link] = power;
  }
  if (any_backend) {
    out["running"] = running;
    out["queued"] = queued;
    if (have_kv) out["kv_cache_ratio"] = kv;
  }
  if (backend_net) {
    now.rx = net_rx;
    now.tx = net_tx;
    now.have_net = true;
  } else if (in.host_net_bytes) {
    now.rx = in.host_net_bytes->first;
    now.tx = in.host_net_bytes->second;
    now.have_net = true;
  }
  // Rates against the previous second; a counter that went down (a restarted backend) restarts.
  if (previous_) {
    auto rate = [](double now_v, double before) { return now_v >= before ? now_v - before : now_v; };
    out["requests_per_s"] = rate(now.requests, previous_->requests);
    out["errors_per_s"] = rate(now.errors, previous_->errors);
    if (any_backend) {
      double sum = 0;
      for (const auto& [link, n] : tokens) {
        const auto before = previous_tokens_.find(link);
        if (before != previous_tokens_.end()) sum += rate(n, before->second);
      }
      out["tokens_per_s"] = sum;
    }
    if (now.have_net && previous_->have_net) {
      out["net_rx_bytes_per_s"] = rate(now.rx, previous_->rx);
      out["net_tx_bytes_per_s"] = rate(now.tx, previous_->tx);
    }
  }
  previous_ = now;
  previous_tokens_ = std::move(tokens);
  // Percentiles over the last 10 s of observations.
  auto percentiles = [&out](std::deque<std::map<double, double>>& history, std::map<double, double> current,
                            const std::string& prefix) {
    history.push_back(std::move(current));
    if (history.size() > 11) history.pop_front();
    if (history.size() < 2) return;
    if (auto p50 = histogram_quantile(history.front(), history.back(), 0.5)) out[prefix + "_p50_ms"] = *p50 * 1000;
    if (auto p95 = histogram_quantile(history.front(), history.back(), 0.95)) out[prefix + "_p95_ms"] = *p95 * 1000;
  };
  if (any_backend) {
    percentiles(ttft_history_, std::move(ttft), "ttft");
    percentiles(e2e_history_, std::move(e2e), "e2e");
  }
  return out;
}

}  // namespace tandem::gateway
