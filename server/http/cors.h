#pragma once
// CORS (Fetch standard): which browser origins may call the API. With no origins configured the
// server sends no CORS headers at all, so browsers keep their same-origin rule.

#include <string>
#include <string_view>
#include <vector>

#include "http/http_message.h"

namespace tandem::http {

class CorsPolicy {
 public:
  explicit CorsPolicy(std::vector<std::string> allowed_origins) : origins_(std::move(allowed_origins)) {}

  bool enabled() const { return !origins_.empty(); }
  // True when cors.allowed_origins lists `origin` (or "*"). With none configured no origin is
  // allowed, so a browser page elsewhere cannot make this server change state (see
  // request_screen.h).
  bool allows(std::string_view origin) const;
  // Headers for a response to a request from `origin` ("" = not a cross-origin request).
  Headers response_headers(std::string_view origin) const;
  // A preflight is OPTIONS with Access-Control-Request-Method; it is answered 204 by the server
  // without authentication (browsers never send credentials on it).
  static bool is_preflight(const HttpRequest& request);
  HttpResponse preflight_response(const HttpRequest& request) const;

 private:
  std::vector<std::string> origins_;
};

}  // namespace tandem::http
