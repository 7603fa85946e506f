#include "tools/bench/target_url.h"

#include <charconv>

namespace tandem::bench {

std::string TargetUrl::host_header() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<TargetUrl> parse_target_url(const std::string& url) {
  const std::string fix = " (--url takes http://HOST:PORT, for example http://127.0.0.1:8080)";
  if (url.starts_with("https://")) {
    return make_error("--url \"" + url + "\": https is not supported; benchmark the plain-HTTP address" + fix);
  }
  if (!url.starts_with("http://")) return make_error("--url \"" + url + "\" does not start with http://" + fix);
  std::string rest = url.substr(7);
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  TargetUrl target;
  std::string port_text;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return make_error("--url \"" + url + "\": unclosed [ in the IPv6 address" + fix);
    target.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return make_error("--url \"" + url + "\": expected :PORT after ]" + fix);
      port_text = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    target.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (target.host.empty()) return make_error("--url \"" + url + "\" has no host" + fix);
  if (authority.find('@') != std::string::npos) {
    return make_error("--url \"" + url + "\": credentials in the URL are not supported; use --api-key");
  }
  if (!port_text.empty() || authority.ends_with(":")) {
    int port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
      return make_error("--url \"" + url + "\": the port \"" + port_text + "\" is not a number from 1 to 65535" + fix);
    }
    target.port = static_cast<uint16_t>(port);
  }
  if (path.find_first_of("?#") != std::string::npos) {
    return make_error("--url \"" + url + "\": a query or fragment makes no sense here; give the server's base URL");
  }
  while (path.ends_with("/")) path.pop_back();
  if (path.ends_with("/v1")) path.resize(path.size() - 3);
  target.base_path = path;
  return target;
}

}  // namespace tandem::bench
