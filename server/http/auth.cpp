#include "http/auth.h"

#include <cstdint>

#include "http/http_message.h"

namespace tandem::http {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer length, folding differences into one accumulator with no early exit.
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  volatile uint8_t diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t x = i < a.size() ? static_cast<uint8_t>(a[i]) : 0;
    const uint8_t y = i < b.size() ? static_cast<uint8_t>(b[i]) : 0;
    diff = static_cast<uint8_t>(diff | (x ^ y));
  }
  return diff == 0;
}

bool authorized(std::string_view header, const std::vector<std::string>& keys) {
  if (keys.empty()) return true;
  // The scheme is case-insensitive (RFC 7235); one or more spaces separate it from the token.
  if (header.size() < 7 || to_lower(header.substr(0, 7)) != "bearer ") return false;
  std::string_view token = header.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  bool match = false;
  for (const auto& key : keys) match = constant_time_equal(token, key) || match;
  return match;
}

}  // namespace tandem::http
