#include "http/request_screen.h"

namespace tandem::http {
namespace {

// Client text quoted in a message, cut short: a header may be 16 KiB.
std::string shown(std::string_view text) {
  return std::string(text.substr(0, 100)) + (text.size() > 100 ? "..." : "");
}

}  // namespace

bool is_safe_method(std::string_view method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

ApiError origin_not_allowed(std::string_view origin) {
  return ApiError{403,
                  "requests from the browser origin \"" + shown(origin) +
                      "\" are refused: it is not in cors.allowed_origins; add it there if that page should "
                      "call this server",
                  "invalid_request_error", "", "origin_not_allowed"};
}

std::optional<ApiError> RequestScreen::check(const HttpRequest& request) const {
  if (!hosts_.allows(request.header("host"))) {
    const std::string_view host = request.header("host");
    return ApiError{403,
                    (host.empty() ? std::string("the request has no Host header") : "the Host \"" + shown(host) + "\"") +
                        " is not one this server answers to; call it by a name in security.allowed_hosts, or add "
                        "the name there",
                    "invalid_request_error", "", "host_not_allowed"};
  }
  const std::string_view origin = request.header("origin");
  if (!origin.empty() && !is_safe_method(request.method) && !cors_.allows(origin)) return origin_not_allowed(origin);
  return std::nullopt;
}

}  // namespace tandem::http
