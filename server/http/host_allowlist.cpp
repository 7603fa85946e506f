#include "http/host_allowlist.h"

#include <arpa/inet.h>

#include "http/http_message.h"

namespace tandem::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "host:port", "[v6]:port", "[v6]" and "host" into host (brackets kept off) and port.
std::pair<std::string_view, std::string_view> split_host_port(std::string_view value) {
  value = trim(value);
  if (value.starts_with('[')) {
    const size_t close = value.find(']');
    if (close == std::string_view::npos) return {value, {}};
    std::string_view rest = value.substr(close + 1);
    return {value.substr(1, close - 1), rest.starts_with(':') ? rest.substr(1) : std::string_view()};
  }
  const size_t colon = value.find(':');
  // More than one colon without brackets is a bare IPv6 address (not valid in Host, but an
  // allow-list entry may be written that way).
  if (colon == std::string_view::npos || value.find(':', colon + 1) != std::string_view::npos) return {value, {}};
  return {value.substr(0, colon), value.substr(colon + 1)};
}

}  // namespace

std::string host_name(std::string_view host_header) {
  std::string name = to_lower(split_host_port(host_header).first);
  if (name.ends_with('.')) name.pop_back();  // "localhost." is "localhost"
  return name;
}

std::string host_port(std::string_view host_header) { return std::string(split_host_port(host_header).second); }

bool is_loopback_name(std::string_view name) {
  if (name == "localhost" || name.ends_with(".localhost")) return true;
  const std::string text(name);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

bool is_loopback_client(std::string_view client) {
  // The session writes address + ":" + port, so the address is everything before the last colon.
  const size_t colon = client.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view address = client.substr(0, colon);
  return address != "localhost" && is_loopback_name(address);
}

HostAllowlist::HostAllowlist(const std::vector<std::string>& entries) {
  for (const auto& e : entries) entries_.push_back({host_name(e), host_port(e)});
}

bool HostAllowlist::allows(std::string_view host_header) const {
  if (!enabled()) return true;
  const std::string name = host_name(host_header);
  if (name.empty()) return false;
  const std::string port = host_port(host_header);
  for (const auto& e : entries_) {
    if (e.name == name && (e.port.empty() || e.port == port)) return true;
  }
  return false;
}

}  // namespace tandem::http
