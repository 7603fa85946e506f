#include <dlfcn.h>

#include <string>

#include "monitor/collectors.h"

namespace tandem::monitor {

// The few NVML entry points used, declared as nvml.h does (the header is not needed to build).
struct NvmlCollector::Api {
  using Device = void*;
  struct Memory {
    unsigned long long total, free, used;
  };
  struct Utilization {
    unsigned int gpu, memory;
  };
  void* handle = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*count)(unsigned int*) = nullptr;
  int (*by_index)(unsigned int, Device*) = nullptr;
  int (*memory)(Device, Memory*) = nullptr;
  int (*utilization)(Device, Utilization*) = nullptr;
  int (*temperature)(Device, int, unsigned int*) = nullptr;  // sensor 0 = NVML_TEMPERATURE_GPU
  int (*power)(Device, unsigned int*) = nullptr;             // milliwatts
};

namespace {

template <typename F>
bool bind(void* handle, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(handle, name));
  return out != nullptr;
}

}  // namespace

NvmlCollector::NvmlCollector(std::string library) {
  if (library.empty()) return;
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return;  // no NVIDIA driver on this host: the collector stays absent
  auto api = std::make_unique<Api>();
  api->handle = handle;
  const bool bound = bind(handle, "nvmlInit_v2", api->init) && bind(handle, "nvmlShutdown", api->shutdown) &&
                     bind(handle, "nvmlDeviceGetCount_v2", api->count) &&
                     bind(handle, "nvmlDeviceGetHandleByIndex_v2", api->by_index) &&
                     bind(handle, "nvmlDeviceGetMemoryInfo", api->memory);
  if (!bound || api->init() != 0) {
    dlclose(handle);
    return;
  }
  // Optional ones: older drivers or some boards lack them; their readings are then absent.
  bind(handle, "nvmlDeviceGetUtilizationRates", api->utilization);
  bind(handle, "nvmlDeviceGetTemperature", api->temperature);
  bind(handle, "nvmlDeviceGetPowerUsage", api->power);
  api_ = std::move(api);
}

NvmlCollector::~NvmlCollector() {
  if (!api_) return;
  api_->shutdown();
  dlclose(api_->handle);
}

std::optional<Readings> NvmlCollector::sample(double) {
  if (!api_) return std::nullopt;
  unsigned int n = 0;
  if (api_->count(&n) != 0 || n == 0) return std::nullopt;
  Readings out;
  for (unsigned int i = 0; i < n; ++i) {
    Api::Device device = nullptr;
    if (api_->by_index(i, &device) != 0) continue;
    const std::string gpu = std::to_string(i);
    Api::Memory memory{};
    if (api_->memory(device, &memory) == 0) {
      out.push_back({"gpu_memory_used_bytes", {{"gpu", gpu}}, static_cast<double>(memory.used)});
      out.push_back({"gpu_memory_total_bytes", {{"gpu", gpu}}, static_cast<double>(memory.total)});
    }
    Api::Utilization utilization{};
    if (api_->utilization && api_->utilization(device, &utilization) == 0) {
      out.push_back({"gpu_utilization_ratio", {{"gpu", gpu}}, utilization.gpu / 100.0});
    }
    unsigned int value = 0;
    if (api_->temperature && api_->temperature(device, 0, &value) == 0) {
      out.push_back({"temperature_celsius", {{"sensor", "gpu" + gpu}}, static_cast<double>(value)});
    }
    if (api_->power && api_->power(device, &value) == 0) {
      out.push_back({"power_watts", {{"source", "gpu" + gpu}}, value / 1000.0});
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace tandem::monitor
