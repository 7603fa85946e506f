#pragma once
// `tandem gateway`: the front door (HTTP on server/http's HttpServer), the links, their prober and
// the proxy, wired together; runs until SIGTERM or SIGINT, then drains gracefully.

#include "gateway/config/gateway_config.h"

namespace tandem::gateway {

// Returns the process exit status.
int run_gateway(const GatewayConfig& config);

}  // namespace tandem::gateway
