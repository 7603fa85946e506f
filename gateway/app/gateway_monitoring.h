#pragma once
// The gateway's monitoring (issue 13): the shared monitor (monitor/monitor.h) with the host
// collectors, a links collector (each link's last probe round trip, link_rtt_seconds{link}) and
// the switch_link action. The switch itself is the gateway's failover rule (failover_rule.h),
// which moves traffic off a slow link on its own probes; switch_link reports what it did, so the
// move appears in /api/alerts, tandem_alert_firing and webhooks like every other action.

#include <memory>

#include "gateway/app/status_routes.h"
#include "gateway/config/gateway_config.h"
#include "gateway/links/link_set.h"
#include "monitor/monitor.h"

namespace tandem::gateway {

class GatewayMonitoring {
 public:
  GatewayMonitoring(const GatewayConfig& config, LinkSet& links, GatewayMetrics& metrics);
  ~GatewayMonitoring();
  monitor::Monitor* monitor() { return monitor_.get(); }  // null when monitoring.enabled is false
  void start();
  void stop();

 private:
  std::string switch_link(const monitor::AlertEvent& event) const;

  LinkSet& links_;
  std::unique_ptr<monitor::Monitor> monitor_;
};

}  // namespace tandem::gateway
