#pragma once
// One small GET to a link on a pooled connection, with the whole response buffered: the probe
// (GET /health) and the merged model list (GET /v1/models) use it. Runs on the upstream I/O thread.

#include <chrono>
#include <functional>
#include <string>

#include "gateway/links/upstream_pool.h"

namespace tandem::gateway {

struct FetchResult {
  bool answered = false;  // an HTTP response came back
  int status = 0;
  std::string body;
  std::string error;      // why not, when !answered
  bool connection_failed = false;  // refused or reset: the link is not there
  double rtt_ms = 0;      // from sending the request to the end of the response
};

// `api_key` (may be empty) goes out as "Authorization: Bearer".
void fetch(UpstreamPool& pool, const std::string& target, const std::string& api_key,
           std::chrono::milliseconds timeout, std::function<void(FetchResult)> done);

}  // namespace tandem::gateway
