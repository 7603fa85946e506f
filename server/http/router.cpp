#include "http/router.h"

namespace tandem::http {

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

Router::Match Router::find(std::string_view method, std::string_view path) const {
  Match match;
  for (const auto& r : routes_) {
    if (r.path != path) continue;
    match.route = r.path;
    if (r.method == method) {
      match.handler = &r.handler;
      return match;
    }
    match.allowed.push_back(r.method);
  }
  return match;
}

}  // namespace tandem::http
