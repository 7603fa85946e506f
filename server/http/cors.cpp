#include "http/cors.h"

namespace tandem::http {

bool CorsPolicy::allows(std::string_view origin) const {
  for (const auto& o : origins_) {
    if (o == "*" || o == origin) return true;
  }
  return false;
}

Headers CorsPolicy::response_headers(std::string_view origin) const {
  Headers h;
  if (!enabled() || origin.empty() || !allows(origin)) return h;
  h.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  h.emplace_back("Vary", "Origin");
  // X-Tandem-Link: a browser page talking to the gateway may show which link answered.
  h.emplace_back("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, X-Tandem-Link");
  return h;
}

bool CorsPolicy::is_preflight(const HttpRequest& request) {
  return request.method == "OPTIONS" && !request.header("access-control-request-method").empty();
}

HttpResponse CorsPolicy::preflight_response(const HttpRequest& request) const {
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  response.headers = response_headers(request.header("origin"));
  if (!response.headers.empty()) {
    response.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    // Reflecting the asked-for headers is safe: the origin is already allowed, and the API key is
    // what guards the routes.
    const std::string_view asked = request.header("access-control-request-headers");
    response.headers.emplace_back("Access-Control-Allow-Headers",
                                  asked.empty() ? std::string("Authorization, Content-Type") : std::string(asked));
    response.headers.emplace_back("Access-Control-Max-Age", "600");
  }
  return response;
}

}  // namespace tandem::http
