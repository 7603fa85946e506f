#pragma once
// The gateway's own routes: GET /health (200 while some link can serve, 503 with the reasons
// otherwise), GET /api/links (the links' state as JSON, documented in docs/ARCHITECTURE.md) and
// GET /metrics (Prometheus text: link state, probe round trips, switches, proxied requests by
// link and status, the latency the gateway adds).

#include <functional>
#include <string>

#include "gateway/links/link_set.h"
#include "http/router.h"
#include "metrics/metrics.h"

namespace tandem::gateway {

struct GatewayMetrics {
  GatewayMetrics();
  // Request received -> request written to the link, seconds.
  metrics::Histogram added_latency;
  metrics::Counter rate_limited;
  // More exposition text after the gateway's own: the monitor's host metrics and alerts
  // (monitor/monitor.h). Set before the HTTP server starts.
  std::function<std::string()> extra;
};

// {"active", "mode", "links": [{"name", "url", "protocol", "state", "rtt_ms": {...}, "in_flight",
//  "requests_total", "errors_total", ...}], "events": [{"time", "from", "to", "reason"}]}
std::string links_json(const LinksSnapshot& snapshot);
std::string render_metrics(const LinksSnapshot& snapshot, const GatewayMetrics& metrics);

void add_status_routes(http::Router& router, LinkSet& links, GatewayMetrics& metrics);

}  // namespace tandem::gateway
