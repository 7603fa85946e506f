#include "monitor/metric_catalog.h"

#include <array>

namespace tandem::monitor {
namespace {

constexpr std::array kMetrics = {
    MetricInfo{"host_memory_total_bytes", "gauge", "Host memory (MemTotal)"},
    MetricInfo{"host_memory_used_bytes", "gauge", "Host memory in use: MemTotal - MemAvailable"},
    MetricInfo{"host_memory_available_bytes", "gauge", "Host memory available to new work (MemAvailable)"},
    MetricInfo{"memory_used_ratio", "gauge",
               "Memory in use over total of what holds the model: the GPU's when the model is on one, else the host's"},
    MetricInfo{"host_cpu_seconds_total", "counter", "CPU time the host spent busy, all CPUs together"},
    MetricInfo{"host_cpu_usage_ratio", "gauge", "Busy share of all host CPUs over the last sample interval"},
    MetricInfo{"host_cpus", "gauge", "CPUs the host has online"},
    MetricInfo{"process_cpu_seconds_total", "counter", "CPU time of this process, user and system"},
    // The server's own metrics export tandem_process_resident_memory_bytes already.
    MetricInfo{"process_resident_bytes", "gauge", "Resident memory of this process", false},
    MetricInfo{"network_receive_bytes_total", "counter", "Bytes received, per network interface"},
    MetricInfo{"network_transmit_bytes_total", "counter", "Bytes sent, per network interface"},
    MetricInfo{"temperature_celsius", "gauge", "Temperature, per sensor (hwmon, thermal zones, GPUs)"},
    MetricInfo{"power_watts", "gauge", "Power draw, per source (RAPL energy counters, GPUs)"},
    MetricInfo{"gpu_memory_used_bytes", "gauge", "GPU memory in use, per GPU (NVML)"},
    MetricInfo{"gpu_memory_total_bytes", "gauge", "GPU memory, per GPU (NVML)"},
    MetricInfo{"gpu_utilization_ratio", "gauge", "Share of time the GPU was busy over NVML's sample period"},
    MetricInfo{"batch_limit", "gauge", "Sequences decoded together now (lowered by the reduce_batch action)"},
    // Engine and link readings: /metrics has them under their own names already.
    MetricInfo{"engine_running_sequences", "gauge", "Sequences being generated", false},
    MetricInfo{"engine_queued_requests", "gauge", "Requests waiting for the model", false},
    MetricInfo{"engine_tokens_per_second", "gauge", "Generated tokens per second over the last interval", false},
    MetricInfo{"engine_model_loaded", "gauge", "1 when a model is loaded", false},
    MetricInfo{"kv_cache_used_cells", "gauge", "KV cache positions held by running sequences", false},
    MetricInfo{"kv_cache_capacity_cells", "gauge", "KV cache positions of the loaded model", false},
    MetricInfo{"kv_cache_usage_ratio", "gauge", "Share of the KV cache held by running sequences", false},
    MetricInfo{"link_rtt_seconds", "gauge", "Last probe round-trip time, per link", false},
};

}  // namespace

const MetricInfo* find_metric(std::string_view name) {
  for (const auto& m : kMetrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace tandem::monitor
