#include <unistd.h>

#include <sstream>

#include "monitor/collectors.h"

namespace tandem::monitor {

std::optional<Readings> CpuCollector::sample(double) {
  const auto text = read_small_file(proc_root + "/stat");
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  std::string line;
  std::optional<std::pair<uint64_t, uint64_t>> now;
  int cpus = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("cpu ", 0) == 0) {
      // user nice system idle iowait irq softirq steal (guest time is inside user already)
      std::istringstream fields(line.substr(4));
      uint64_t v[8] = {};
      int n = 0;
      while (n < 8 && fields >> v[n]) ++n;
      if (n < 4) return std::nullopt;
      const uint64_t idle = v[3] + v[4];
      uint64_t total = 0;
      for (int i = 0; i < n; ++i) total += v[i];
      now = std::make_pair(total - idle, total);
    } else if (line.rfind("cpu", 0) == 0) {
      ++cpus;
    }
  }
  if (!now) return std::nullopt;
  const long hz = sysconf(_SC_CLK_TCK);
  Readings out{{"host_cpu_seconds_total", {}, static_cast<double>(now->first) / static_cast<double>(hz > 0 ? hz : 100)}};
  if (cpus > 0) out.push_back({"host_cpus", {}, static_cast<double>(cpus)});
  if (previous && now->second > previous->second && now->first >= previous->first) {
    const double busy = static_cast<double>(now->first - previous->first);
    out.push_back({"host_cpu_usage_ratio", {}, busy / static_cast<double>(now->second - previous->second)});
  }
  previous = now;
  return out;
}

}  // namespace tandem::monitor
