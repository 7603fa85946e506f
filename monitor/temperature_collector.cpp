#include <algorithm>
#include <filesystem>

#include "monitor/collectors.h"

namespace tandem::monitor {
namespace {

namespace fs = std::filesystem;

constexpr double kRescanSeconds = 60;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Entries of `dir` whose names start with `prefix`, sorted; none when the directory is missing.
std::vector<std::string> entries(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::optional<Readings> TemperatureCollector::sample(double now) {
  if (now - scanned_at >= kRescanSeconds) {
    scanned_at = now;
    sensors.clear();
    const std::string hwmon = sys_root + "/class/hwmon";
    for (const auto& chip : entries(hwmon, "hwmon")) {
      const std::string dir = hwmon + "/" + chip;
      const std::string chip_name = trimmed(read_small_file(dir + "/name").value_or(chip));
      for (const auto& file : entries(dir, "temp")) {
        if (!file.ends_with("_input")) continue;
        const std::string base = file.substr(0, file.size() - 6);  // "temp1"
        const std::string label = trimmed(read_small_file(dir + "/" + base + "_label").value_or(base));
        sensors.push_back({chip_name + "/" + label, dir + "/" + file});
      }
    }
    const std::string thermal = sys_root + "/class/thermal";
    for (const auto& zone : entries(thermal, "thermal_zone")) {
      const std::string dir = thermal + "/" + zone;
      const std::string type = trimmed(read_small_file(dir + "/type").value_or(zone));
      sensors.push_back({"thermal/" + type, dir + "/temp"});
    }
  }
  Readings out;
  for (const auto& sensor : sensors) {
    // A sensor that errors (ENODATA on a sleeping device, EACCES) is left out of this sample.
    if (auto millis = read_number_file(sensor.path)) {
      out.push_back({"temperature_celsius", {{"sensor", sensor.label}}, *millis / 1000.0});
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace tandem::monitor
