#pragma once
// Value checks that more than one option table uses (serve's and the gateway's). Each returns ""
// for a good value, or what is wrong and the fix.

#include <cstdint>
#include <string>

#include "config/option_table.h"

namespace tandem::config {

double as_number(const OptionValue& v);
std::string number_text(double x);

template <int64_t Lo, int64_t Hi>
std::string in_range(const OptionValue& v) {
  const double x = as_number(v);
  if (x >= static_cast<double>(Lo) && x <= static_cast<double>(Hi)) return "";
  return number_text(x) + " is outside " + std::to_string(Lo) + ".." + std::to_string(Hi) + "; choose a value in that range";
}

std::string size_outside(uint64_t bytes, uint64_t lo, uint64_t hi);

template <uint64_t Lo, uint64_t Hi>
std::string size_in_range(const OptionValue& v) {
  return size_outside(std::get<ByteSize>(v).bytes, Lo, Hi);
}

std::string check_port(const OptionValue& v);
std::string check_log_level(const OptionValue& v);  // error, warn, info, debug
std::string check_api_keys(const OptionValue& v);   // printable ASCII, not empty
std::string check_origins(const OptionValue& v);    // "*" or scheme://host[:port]

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;
constexpr uint64_t kTiB = kGiB * 1024;

}  // namespace tandem::config
