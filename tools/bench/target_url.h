#pragma once
// The server under test, from --url: "http://host:port[/prefix]". A trailing "/v1" is accepted
// and dropped, since people paste the OpenAI base URL; the bench adds "/v1/..." itself.

#include <cstdint>
#include <string>

#include "core/result.h"

namespace tandem::bench {

struct TargetUrl {
  std::string host;       // "127.0.0.1", "localhost" or "::1" (no brackets)
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix", no trailing slash
  // "host:port" as the Host header wants it (IPv6 in brackets).
  std::string host_header() const;
};

Result<TargetUrl> parse_target_url(const std::string& url);

}  // namespace tandem::bench
