#include "monitor/collectors.h"

namespace tandem::monitor {

std::vector<std::unique_ptr<Collector>> host_collectors(const std::string& proc_root, const std::string& sys_root,
                                                        const std::string& nvml_library) {
  std::vector<std::unique_ptr<Collector>> out;
  out.push_back(std::make_unique<MemoryCollector>(proc_root));
  out.push_back(std::make_unique<CpuCollector>(proc_root));
  out.push_back(std::make_unique<ProcessCollector>(proc_root));
  out.push_back(std::make_unique<NetworkCollector>(proc_root));
  out.push_back(std::make_unique<TemperatureCollector>(sys_root));
  out.push_back(std::make_unique<PowerCollector>(sys_root));
  out.push_back(std::make_unique<NvmlCollector>(nvml_library));
  return out;
}

}  // namespace tandem::monitor
