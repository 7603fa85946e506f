#include "config/byte_size.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace tandem::config {
namespace {

struct Unit {
  std::string_view name;  // lower case
  double factor;
};

constexpr double kKi = 1024.0;
constexpr std::array<Unit, 13> kUnits = {{
    {"", 1.0},
    {"b", 1.0},
    {"k", kKi},
    {"kb", 1e3},
    {"kib", kKi},
    {"m", kKi * kKi},
    {"mb", 1e6},
    {"mib", kKi * kKi},
    {"g", kKi * kKi * kKi},
    {"gb", 1e9},
    {"gib", kKi * kKi * kKi},
    {"tb", 1e12},
    {"tib", kKi * kKi * kKi * kKi},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<uint64_t> parse_byte_size(std::string_view text) {
  const std::string original(text);
  auto fail = [&] {
    return make_error("'" + original + "' is not a size; write bytes (1048576) or a number and unit (\"4GB\", \"512MiB\")");
  };
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  size_t n = 0;
  while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.')) ++n;
  if (n == 0) return fail();
  double number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + n, number);
  if (ec != std::errc() || end != text.data() + n) return fail();
  std::string_view unit = text.substr(n);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.remove_prefix(1);
  const std::string unit_lower = lower(unit);
  for (const Unit& u : kUnits) {
    if (u.name != unit_lower) continue;
    const double bytes = std::floor(number * u.factor);
    // 2^63 leaves room for arithmetic on sizes without overflow and is far past any real memory.
    if (!(bytes < 9.2e18)) return make_error("'" + original + "' is too large");
    return static_cast<uint64_t>(bytes);
  }
  return fail();
}

std::string format_byte_size(uint64_t bytes) {
  static constexpr std::array<const char*, 5> kNames = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kNames.size()) {
    value /= 1024.0;
    ++unit;
  }
  char buf[48];
  if (unit == 0 || value == std::floor(value)) {
    std::snprintf(buf, sizeof(buf), "%.0f %s", value, kNames[unit]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", value, kNames[unit]);
  }
  return buf;
}

}  // namespace tandem::config
