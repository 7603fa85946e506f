#pragma once
// Helpers shared by the chat-template tests: reading test data and the fixed clock the
// expectations were rendered with (scripts/make_chat_template_expectations.py).

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace tandem::test {

inline std::string chat_data_path(const std::string& relative) { return std::string(TANDEM_TEST_DATA) + "/chat/" + relative; }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Ordered, so that tool schemas keep the key order the expectations were rendered with.
inline nlohmann::ordered_json read_json(const std::string& path) { return nlohmann::ordered_json::parse(read_file(path)); }

// "2025-03-14T09:30:05" as a broken-down time with weekday and day of year filled in.
inline std::tm parse_iso_time(const std::string& iso) {
  std::tm t{};
  std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec);
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  const std::time_t seconds = timegm(&t);
  std::tm normalized{};
  gmtime_r(&seconds, &normalized);
  return normalized;
}

}  // namespace tandem::test
