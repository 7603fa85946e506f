#include <algorithm>
#include <filesystem>

#include "monitor/collectors.h"

namespace tandem::monitor {

namespace fs = std::filesystem;

std::optional<Readings> PowerCollector::sample(double now) {
  const std::string root = sys_root + "/class/powercap";
  std::vector<std::string> zones;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // "intel-rapl:0" (package), "intel-rapl:0:0" (core); the bare "intel-rapl" control type has
    // no counter.
    if (name.find(':') != std::string::npos) zones.push_back(name);
  }
  std::sort(zones.begin(), zones.end());
  Readings out;
  bool any_counter = false;
  for (const auto& zone : zones) {
    const std::string dir = root + "/" + zone;
    const auto energy = read_number_file(dir + "/energy_uj");
    if (!energy) continue;
    any_counter = true;
    std::string source = read_small_file(dir + "/name").value_or(zone);
    while (!source.empty() && (source.back() == '\n' || source.back() == ' ')) source.pop_back();
    source = zone.substr(zone.find(':') + 1) + "/" + source;  // "0/package-0", "0:0/core": unique
    const auto prev = previous.find(zone);
    if (prev != previous.end() && now > prev->second.at) {
      double delta = *energy - prev->second.energy_uj;
      if (delta < 0) {
        // The counter wrapped at max_energy_range_uj; without it, skip this interval.
        const auto range = read_number_file(dir + "/max_energy_range_uj");
        delta = range ? *range - prev->second.energy_uj + *energy : -1;
      }
      if (delta >= 0) out.push_back({"power_watts", {{"source", "rapl/" + source}}, delta / 1e6 / (now - prev->second.at)});
    }
    previous[zone] = Counter{*energy, now};
  }
  if (!any_counter) return std::nullopt;
  return out;  // empty at the first sample: watts need two
}

}  // namespace tandem::monitor
