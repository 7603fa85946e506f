#include <cstdlib>
#include <sstream>

#include "monitor/collectors.h"

namespace tandem::monitor {

std::optional<Readings> MemoryCollector::sample(double) {
  const auto text = read_small_file(proc_root + "/meminfo");
  if (!text) return std::nullopt;
  std::optional<double> total, available;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    // "MemTotal:       24683880 kB"
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    if (key != "MemTotal" && key != "MemAvailable") continue;
    char* end = nullptr;
    const double kib = std::strtod(line.c_str() + colon + 1, &end);
    if (end == line.c_str() + colon + 1) continue;
    (key == "MemTotal" ? total : available) = kib * 1024.0;
  }
  if (!total || *total <= 0 || !available) return std::nullopt;
  const double used = std::max(0.0, *total - *available);
  return Readings{{"host_memory_total_bytes", {}, *total},
                  {"host_memory_used_bytes", {}, used},
                  {"host_memory_available_bytes", {}, *available}};
}

}  // namespace tandem::monitor
