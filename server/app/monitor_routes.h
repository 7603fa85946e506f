#pragma once
// GET /api/stats (current host and engine values, recent series, which sources are absent) and
// GET /api/alerts (rules firing now, history with start and end times and the action taken, each
// rule's state). They pass the server's key check like every route but /health. Without
// monitoring (monitoring.enabled false) both answer 404 naming the option.

#include "http/router.h"
#include "monitor/monitor.h"

namespace tandem::server {

void add_monitor_routes(http::Router& router, const monitor::Monitor* monitor);

}  // namespace tandem::server
