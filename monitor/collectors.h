#pragma once
// The host's collectors, one per source, each in its own file. Every path is under a root given
// at construction ("/proc", "/sys" in production), so tests point them at fixture trees.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "monitor/reading.h"

namespace tandem::monitor {

// <proc>/meminfo: host_memory_total_bytes, host_memory_used_bytes (MemTotal - MemAvailable, what
// the kernel could not hand a new process without swapping), host_memory_available_bytes.
struct MemoryCollector final : Collector {
  explicit MemoryCollector(std::string proc_root) : proc_root(std::move(proc_root)) {}
  const char* name() const override { return "meminfo"; }
  std::optional<Readings> sample(double now_seconds) override;
  std::string proc_root;
};

// <proc>/stat: host_cpu_seconds_total (busy time of all CPUs) and host_cpu_usage_ratio (busy share
// of all CPUs since the previous sample; absent at the first), host_cpus.
struct CpuCollector final : Collector {
  explicit CpuCollector(std::string proc_root) : proc_root(std::move(proc_root)) {}
  const char* name() const override { return "cpu"; }
  std::optional<Readings> sample(double now_seconds) override;
  std::string proc_root;
  std::optional<std::pair<uint64_t, uint64_t>> previous;  // busy, total jiffies
};

// <proc>/self/stat and statm: process_cpu_seconds_total, process_resident_bytes.
struct ProcessCollector final : Collector {
  explicit ProcessCollector(std::string proc_root) : proc_root(std::move(proc_root)) {}
  const char* name() const override { return "process"; }
  std::optional<Readings> sample(double now_seconds) override;
  std::string proc_root;
};

// <proc>/net/dev: network_receive_bytes_total{device}, network_transmit_bytes_total{device}.
struct NetworkCollector final : Collector {
  explicit NetworkCollector(std::string proc_root) : proc_root(std::move(proc_root)) {}
  const char* name() const override { return "netdev"; }
  std::optional<Readings> sample(double now_seconds) override;
  std::string proc_root;
};

// temperature_celsius{sensor} from <sys>/class/hwmon/hwmon*/temp*_input (sensor
// "<chip name>/<temp*_label or tempN>") and <sys>/class/thermal/thermal_zone*/temp (sensor
// "thermal/<type>"). Files are millidegrees. The sensor list is found again every minute.
struct TemperatureCollector final : Collector {
  explicit TemperatureCollector(std::string sys_root) : sys_root(std::move(sys_root)) {}
  const char* name() const override { return "temperature"; }
  std::optional<Readings> sample(double now_seconds) override;
  std::string sys_root;
  struct Sensor {
    std::string label;
    std::string path;
  };
  std::vector<Sensor> sensors;
  double scanned_at = -1e18;
};

// power_watts{source} from RAPL energy counters, <sys>/class/powercap/<zone>/energy_uj (source =
// the zone's name file: "package-0", "core", "dram", ...). A counter wraps at max_energy_range_uj;
// watts need two samples, so the first is absent. Unreadable counters (root-only on recent
// kernels) are skipped.
struct PowerCollector final : Collector {
  explicit PowerCollector(std::string sys_root) : sys_root(std::move(sys_root)) {}
  const char* name() const override { return "rapl"; }
  std::optional<Readings> sample(double now_seconds) override;
  std::string sys_root;
  struct Counter {
    double energy_uj = 0;
    double at = 0;
  };
  std::map<std::string, Counter> previous;  // by zone directory
};

// NVML through dlopen (no link-time dependency on the driver): gpu_memory_used_bytes{gpu},
// gpu_memory_total_bytes{gpu}, gpu_utilization_ratio{gpu}, and temperature_celsius and power_watts
// with sensor/source "gpuN". Absent when the library or a GPU is not there.
class NvmlCollector final : public Collector {
 public:
  explicit NvmlCollector(std::string library = "libnvidia-ml.so.1");
  ~NvmlCollector() override;
  NvmlCollector(const NvmlCollector&) = delete;
  NvmlCollector& operator=(const NvmlCollector&) = delete;
  const char* name() const override { return "nvml"; }
  std::optional<Readings> sample(double now_seconds) override;
  bool loaded() const { return api_ != nullptr; }

 private:
  struct Api;
  std::unique_ptr<Api> api_;
};

// The host collectors with the given roots, in the order /api/stats lists them.
std::vector<std::unique_ptr<Collector>> host_collectors(const std::string& proc_root, const std::string& sys_root,
                                                        const std::string& nvml_library);

}  // namespace tandem::monitor
