#pragma once
// The Host allow-list (security.allowed_hosts). DNS rebinding works by giving a hostile name two
// answers: first the attacker's address (the browser loads the attacker's page), then 127.0.0.1
// or a LAN address (the page's requests, still "same origin", now reach this server). Those
// requests carry the hostile name in Host, so a server that accepts only the names it is known by
// cannot be reached that way.

#include <string>
#include <string_view>
#include <vector>

namespace tandem::http {

// The host of a Host header value (or of an allow-list entry): lower case, without the port and
// without IPv6 brackets. "Example.COM:8080" -> "example.com", "[::1]:8080" -> "::1".
std::string host_name(std::string_view host_header);

// The port of a Host header value, or "" when it names none. "[::1]:8080" -> "8080".
std::string host_port(std::string_view host_header);

// localhost (and its subdomains, RFC 6761), 127.0.0.0/8 and ::1, given as host_name() returns them.
bool is_loopback_name(std::string_view name);

// True when `client` ("127.0.0.1:53422", "::1:53422", "::ffff:127.0.0.1:53422") is a loopback
// peer address.
bool is_loopback_client(std::string_view client);

class HostAllowlist {
 public:
  // Entries are host names or addresses, optionally with a port ("api.example.com",
  // "127.0.0.1:8080", "[::1]"); an entry without a port allows every port.
  explicit HostAllowlist(const std::vector<std::string>& entries);

  bool enabled() const { return !entries_.empty(); }
  // True when the list is off or `host_header` matches an entry. An empty Host (HTTP/1.0 clients
  // may send none) does not match.
  bool allows(std::string_view host_header) const;

 private:
  struct Entry {
    std::string name;
    std::string port;  // "" = any
  };
  std::vector<Entry> entries_;
};

}  // namespace tandem::http
