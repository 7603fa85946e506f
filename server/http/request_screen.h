#pragma once
// Checks every request gets before routing and before API keys, whatever its route:
// - Host must be in security.allowed_hosts when that list is set (defeats DNS rebinding;
//   host_allowlist.h);
// - a state-changing request (any method but GET, HEAD and OPTIONS) that carries an Origin header
//   must come from an origin in cors.allowed_origins. Browsers send Origin on every cross-site
//   POST, "simple" ones (text/plain, no preflight) included, so a page elsewhere cannot make this
//   server generate, unload or load; clients that are not browsers send no Origin and pass.

#include <optional>
#include <string>
#include <vector>

#include "http/api_error.h"
#include "http/cors.h"
#include "http/host_allowlist.h"
#include "http/http_message.h"

namespace tandem::http {

class RequestScreen {
 public:
  RequestScreen(const std::vector<std::string>& allowed_hosts, std::vector<std::string> cors_origins)
      : hosts_(allowed_hosts), cors_(std::move(cors_origins)) {}

  // nullopt when the request may go on; otherwise the error to answer with (403).
  std::optional<ApiError> check(const HttpRequest& request) const;

 private:
  HostAllowlist hosts_;
  CorsPolicy cors_;
};

// True for methods that only read (GET, HEAD, OPTIONS).
bool is_safe_method(std::string_view method);

// 403 for a browser origin that cors.allowed_origins does not list.
ApiError origin_not_allowed(std::string_view origin);

}  // namespace tandem::http
