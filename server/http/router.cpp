#include "http/router.h"

namespace tandem::http {

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler), false});
}

void Router::add_prefix(std::string method, std::string prefix, Handler handler) {
  routes_.push_back({std::move(method), std::move(prefix), std::move(handler), true});
}

Router::Match Router::find(std::string_view method, std::string_view path) const {
  Match match;
  for (const auto& r : routes_) {
    if (r.prefix || r.path != path) continue;
    match.route = r.path;
    if (r.method == method) {
      match.handler = &r.handler;
      return match;
    }
    match.allowed.push_back(r.method);
  }
  if (!match.route.empty()) return match;
  for (const auto& r : routes_) {
    if (!r.prefix || path.size() <= r.path.size() || !path.starts_with(r.path)) continue;
    match.route = r.path + "*";
    if (r.method == method) {
      match.handler = &r.handler;
      return match;
    }
    match.allowed.push_back(r.method);
  }
  return match;
}

}  // namespace tandem::http
