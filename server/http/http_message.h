#pragma once
// A request as handlers see it (body already gzip-decoded) and a complete response. Plain structs,
// so that handlers and their tests need no Beast.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/v1/models?x=1"
  std::string path;    // without the query: "/v1/models"
  Headers headers;     // names in lower case, in the order sent
  std::string body;    // decoded: gzip undone
  std::string request_id;
  std::string client;  // "127.0.0.1:53422"

  // The first header of that name (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Headers headers;  // extra headers (Retry-After, Allow, ...)
};

// Lower-cases ASCII.
std::string to_lower(std::string_view s);

}  // namespace tandem::http
