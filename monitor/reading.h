#pragma once
// What a collector reports: named values with labels, in base units (bytes, seconds, celsius,
// watts, ratios 0..1). A collector that has no such source on this host reports "absent"
// (std::nullopt), never zeros, so a missing sensor is not mistaken for a cold one.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::monitor {

// Label pairs in a fixed order, like {{"sensor", "coretemp/Package id 0"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Reading {
  std::string name;  // without the "tandem_" prefix: "host_memory_used_bytes"
  Labels labels;
  double value = 0;
};

using Readings = std::vector<Reading>;

// One source of readings, sampled once a second by the monitor's loop (never concurrently).
class Collector {
 public:
  virtual ~Collector() = default;
  virtual const char* name() const = 0;  // "meminfo", "hwmon", ... as /api/stats lists sources
  // The current values, or nullopt when the host has no such source (or it cannot be read now).
  virtual std::optional<Readings> sample(double now_seconds) = 0;
};

// A whole small file as text, or nullopt when it is missing or unreadable (sysfs files may be
// root-only, like RAPL's energy_uj on recent kernels).
std::optional<std::string> read_small_file(const std::string& path);

// The first number of a file (sysfs values like "45000\n"); nullopt when unreadable or not a number.
std::optional<double> read_number_file(const std::string& path);

}  // namespace tandem::monitor
