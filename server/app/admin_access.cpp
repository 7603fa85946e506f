#include "app/admin_access.h"

#include "http/auth.h"
#include "http/cors.h"
#include "http/host_allowlist.h"
#include "http/request_screen.h"

namespace tandem::server {
namespace {

using http::ApiError;

ApiError forbidden(std::string message, std::string code) {
  return ApiError{403, std::move(message), "invalid_request_error", "", std::move(code)};
}

bool is_json(std::string_view content_type) {
  const std::string media = http::to_lower(content_type.substr(0, content_type.find(';')));
  const size_t first = media.find_first_not_of(" \t");
  const size_t last = media.find_last_not_of(" \t");
  return first != std::string::npos && media.substr(first, last - first + 1) == "application/json";
}

std::optional<ApiError> check_key(const AdminAccess& access, const http::HttpRequest& request) {
  const std::string_view header = request.header("authorization");
  if (!access.admin_keys.empty() && !header.empty() && http::authorized(header, access.admin_keys)) return std::nullopt;
  if (access.loopback_without_key && http::is_loopback_client(request.client)) {
    if (http::is_loopback_name(http::host_name(request.header("host")))) return std::nullopt;
    return forbidden("admin requests without a key must name this machine in Host (localhost, 127.0.0.1 or [::1]); "
                     "call the server by one of those, or send an admin key",
                     "admin_host_not_loopback");
  }
  if (access.admin_keys.empty()) {
    return forbidden("the admin API is open only to clients on this machine "
                     "(security.admin_on_loopback_without_key); to use it from elsewhere set "
                     "security.admin_api_keys and send one as \"Authorization: Bearer ADMIN_KEY\"",
                     "admin_api_loopback_only");
  }
  if (header.empty()) {
    return http::unauthorized("admin routes need an admin key; send one of security.admin_api_keys as "
                              "\"Authorization: Bearer ADMIN_KEY\"");
  }
  if (!access.user_keys.empty() && http::authorized(header, access.user_keys)) {
    return forbidden("this API key may not use admin routes: they accept only keys from security.admin_api_keys",
                     "admin_key_required");
  }
  return http::unauthorized("the key given is not an admin key (security.admin_api_keys)");
}

}  // namespace

std::optional<ApiError> check_admin_request(const AdminAccess& access, const http::HttpRequest& request) {
  const std::string_view origin = request.header("origin");
  if (!origin.empty() && !http::CorsPolicy(access.cors_origins).allows(origin)) return http::origin_not_allowed(origin);
  if (access.admin_keys.empty() && !access.loopback_without_key) {
    return forbidden("the admin API is off: set security.admin_api_keys and send one as "
                     "\"Authorization: Bearer ADMIN_KEY\", or set security.admin_on_loopback_without_key to true "
                     "to let clients on this machine use it without a key",
                     "admin_api_disabled");
  }
  if (auto refused = check_key(access, request)) return refused;
  if (!is_json(request.header("content-type"))) {
    return ApiError{415,
                    "admin requests need \"Content-Type: application/json\" (so that a cross-site form cannot send "
                    "them); send a JSON object, {} when there is nothing to say",
                    "invalid_request_error", "", "unsupported_media_type"};
  }
  return std::nullopt;
}

}  // namespace tandem::server
