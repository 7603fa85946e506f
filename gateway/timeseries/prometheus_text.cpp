#include "gateway/timeseries/prometheus_text.h"

#include <cmath>
#include <cstdlib>

namespace tandem::gateway {
namespace {

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

// Reads {a="x",b="y"} starting at line[i] == '{'; false on malformed text.
bool read_labels(std::string_view line, size_t& i, std::map<std::string, std::string>& labels) {
  ++i;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
    if (i < line.size() && line[i] == '}') {
      ++i;
      return true;
    }
    const size_t start = i;
    while (i < line.size() && name_char(line[i], i == start)) ++i;
    if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return false;
    std::string key(line.substr(start, i - start));
    i += 2;
    std::string value;
    while (i < line.size() && line[i] != '"') {
      if (line[i] == '\\' && i + 1 < line.size()) {
        ++i;
        value += line[i] == 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
      ++i;
    }
    if (i >= line.size()) return false;
    ++i;
    labels.emplace(std::move(key), std::move(value));
  }
  return false;
}

}  // namespace

std::vector<PromSample> parse_prometheus_text(std::string_view text) {
  std::vector<PromSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) ++i;
    if (i == 0) continue;
    PromSample s;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{' && !read_labels(line, i, s.labels)) continue;
    while (i < line.size() && line[i] == ' ') ++i;
    const std::string number(line.substr(i, line.find(' ', i) == std::string_view::npos ? std::string_view::npos
                                                                                          : line.find(' ', i) - i));
    if (number.empty()) continue;
    char* stop = nullptr;
    s.value = std::strtod(number.c_str(), &stop);
    if (stop != number.c_str() + number.size()) continue;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tandem::gateway
