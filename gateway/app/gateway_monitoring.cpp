#include "gateway/app/gateway_monitoring.h"

#include <cstdio>

#include "log/log.h"

namespace tandem::gateway {
namespace {

// Each link's last probe round trip; a down link's last one is stale, so it is left out.
struct LinksCollector final : monitor::Collector {
  explicit LinksCollector(const LinkSet& links) : links(links) {}
  const char* name() const override { return "links"; }
  std::optional<monitor::Readings> sample(double) override {
    monitor::Readings out;
    for (const auto& l : links.snapshot().links) {
      if (l.state != LinkState::kDown && l.rtt_last) {
        out.push_back({"link_rtt_seconds", {{"link", l.name}}, *l.rtt_last / 1000.0});
      }
    }
    return out;
  }
  const LinkSet& links;
};

std::string seconds(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f s", v);
  return buf;
}

}  // namespace

GatewayMonitoring::GatewayMonitoring(const GatewayConfig& config, LinkSet& links, GatewayMetrics& metrics)
    : links_(links) {
  if (!config.monitoring_enabled) return;
  monitor::MonitorOptions options;
  options.proc_root = config.monitoring_proc_root;
  options.sys_root = config.monitoring_sys_root;
  options.nvml_library = config.monitoring_nvml_library;
  options.rules = config.monitoring_rules;
  options.history_points = static_cast<size_t>(config.monitoring_history_seconds);
  options.source = "tandem gateway";
  options.log = [](bool warning, const std::string& line) { warning ? log::warn(line) : log::info(line); };
  monitor_ = std::make_unique<monitor::Monitor>(std::move(options));
  monitor_->add_collector(std::make_unique<LinksCollector>(links));
  monitor_->set_action("switch_link", monitor::Action{[this](const monitor::AlertEvent& e) { return switch_link(e); },
                                                      [this](const monitor::AlertEvent& e) { return switch_link(e); }});
  metrics.extra = [this] { return monitor_->render_prometheus(); };
}

GatewayMonitoring::~GatewayMonitoring() { stop(); }

void GatewayMonitoring::start() {
  if (monitor_) monitor_->start();
}

void GatewayMonitoring::stop() {
  if (monitor_) monitor_->stop();
}

// What the failover did about the slow link: where traffic goes now, and the last switch.
std::string GatewayMonitoring::switch_link(const monitor::AlertEvent& event) const {
  const LinksSnapshot s = links_.snapshot();
  std::string slow;
  for (const auto& [key, value] : event.value.labels) {
    if (key == "link") slow = value;
  }
  const std::string active = s.active >= 0 ? s.links[static_cast<size_t>(s.active)].name : "";
  std::string what = event.firing ? "link " + slow + " round trip " + seconds(event.value.value) + "; "
                                  : "link " + slow + " is fast again; ";
  if (active.empty()) {
    what += "no link can serve";
  } else if (active == slow) {
    what += "traffic stays on " + active + " (no healthy link to move to, or the failover has not switched yet)";
  } else {
    what += "traffic on " + active;
  }
  if (!s.events.empty()) {
    const SwitchEvent& last = s.events.back();
    what += "; last switch " + (last.from.empty() ? "(start)" : last.from) + " -> " + last.to + " at " + last.time +
            ": " + last.reason;
  }
  return what;
}

}  // namespace tandem::gateway
