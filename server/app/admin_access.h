#pragma once
// Who may use the /admin routes (unload and load the model). They are off unless the operator
// turns them on: with admin keys (security.admin_api_keys, apart from the users' security.api_keys,
// which never grant admin), or for clients on this machine without a key
// (security.admin_on_loopback_without_key). An admin request must also be JSON
// (Content-Type: application/json), which a cross-site form or "simple" fetch cannot send without
// a CORS preflight, and must not come from a browser origin that cors.allowed_origins does not list.
// These checks come after the server's own key check: where security.api_keys is set, every
// request (admin ones included, loopback or not) first needs a user or admin key.

#include <optional>
#include <string>
#include <vector>

#include "http/api_error.h"
#include "http/http_message.h"

namespace tandem::server {

struct AdminAccess {
  std::vector<std::string> admin_keys;
  std::vector<std::string> user_keys;  // only to tell "a user key" from "a wrong key" in the error
  bool loopback_without_key = false;
  std::vector<std::string> cors_origins;
};

// nullopt when the request may use an admin route; otherwise the error to answer with. A keyless
// request on loopback must also name the server by a loopback Host (localhost, 127.0.0.1, [::1]),
// so a DNS-rebound page on this machine cannot pass as a local client.
std::optional<http::ApiError> check_admin_request(const AdminAccess& access, const http::HttpRequest& request);

}  // namespace tandem::server
