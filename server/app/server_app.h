#pragma once
// `tandem serve` once its config is checked: starts the scheduler and the HTTP server, loads the
// model, and runs until SIGTERM or SIGINT. Then it stops accepting, lets requests in flight finish
// for up to timeouts.shutdown_grace_seconds (a second signal cuts that short), cancels the rest
// and returns 0. Returns non-zero when it cannot listen or the first model load fails.

#include "config/server_config.h"

namespace tandem::server {

int run_server(const config::ServerConfig& config);

}  // namespace tandem::server
