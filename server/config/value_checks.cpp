#include "config/value_checks.h"

#include <algorithm>
#include <array>
#include <sstream>
#include <string_view>

namespace tandem::config {

double as_number(const OptionValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<ByteSize>(&v)) return static_cast<double>(b->bytes);
  return 0;
}

std::string number_text(double x) {
  std::ostringstream ss;
  ss << x;
  return ss.str();
}

std::string size_outside(uint64_t bytes, uint64_t lo, uint64_t hi) {
  if (bytes >= lo && bytes <= hi) return "";
  return format_byte_size(bytes) + " is outside " + format_byte_size(lo) + ".." + format_byte_size(hi) +
         "; choose a size in that range";
}

std::string check_port(const OptionValue& v) {
  const int64_t port = std::get<int64_t>(v);
  if (port >= 1 && port < 1024) {
    return std::to_string(port) + " is a privileged port (below 1024), which needs root; choose 1024..65535 "
           "and put a reverse proxy in front if clients need the low port";
  }
  if (port < 1 || port > 65535) return std::to_string(port) + " is not a TCP port; choose 1024..65535";
  return "";
}

std::string check_log_level(const OptionValue& v) {
  static constexpr std::array<std::string_view, 4> kLevels = {"error", "warn", "info", "debug"};
  const auto& s = std::get<std::string>(v);
  if (std::find(kLevels.begin(), kLevels.end(), s) != kLevels.end()) return "";
  return "\"" + s + "\" is not a log level; use one of error, warn, info, debug";
}

std::string check_api_keys(const OptionValue& v) {
  for (const auto& key : std::get<std::vector<std::string>>(v)) {
    if (key.empty()) return "an API key is empty; remove it or give a secret of 16 characters or more";
    for (unsigned char c : key) {
      if (c <= 0x20 || c >= 0x7f) {
        return "an API key contains a space, control or non-ASCII character, which cannot travel in an "
               "Authorization header; use printable ASCII only";
      }
    }
  }
  return "";
}

std::string check_origins(const OptionValue& v) {
  for (const auto& origin : std::get<std::vector<std::string>>(v)) {
    if (origin == "*") continue;
    const bool scheme = origin.starts_with("http://") || origin.starts_with("https://");
    if (!scheme || origin.ends_with("/")) {
      return "\"" + origin + "\" is not an origin; write \"*\" or a scheme and host without a path, "
             "like \"https://chat.example.com\"";
    }
  }
  return "";
}

}  // namespace tandem::config
