#pragma once
// Exact-path routing by method and path; tells 404 (no such path) from 405 (path exists, other
// methods: the Allow header lists them).

#include <string>
#include <string_view>
#include <vector>

#include "http/responder.h"

namespace tandem::http {

class Router {
 public:
  void add(std::string method, std::string path, Handler handler);
  // Matches every path that starts with `prefix` (which ends in '/') and has more after it,
  // like "/v1/models/" for "/v1/models/{id}". Exact paths are tried first.
  void add_prefix(std::string method, std::string prefix, Handler handler);

  struct Match {
    const Handler* handler = nullptr;   // null: see allowed
    std::vector<std::string> allowed;   // methods the path has; empty = unknown path
    std::string route;                  // the matched path, for metrics labels; "" when unknown
  };
  Match find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
    bool prefix = false;
  };
  std::vector<Route> routes_;
};

}  // namespace tandem::http
