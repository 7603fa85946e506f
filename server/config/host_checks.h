#pragma once
// Checks of a config against the machine it is to run on: the address belongs to this host, the
// port is free, the model file exists and its KV cache fits cache_size, the thread count suits the
// cores. The facts about the machine come in a HostFacts so that tests can state them.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config_report.h"
#include "config/server_config.h"
#include "core/result.h"

namespace tandem::config {

struct HostFacts {
  std::vector<std::string> addresses;  // IP addresses of this host's interfaces, as text
  int physical_cores = 1;
  // True when something on this host already listens on address:port.
  std::function<bool(const std::string& address, int64_t port)> port_in_use;
};

// getifaddrs, /proc/cpuinfo (within this process's CPU affinity) and a trial bind().
HostFacts host_facts_from_system();

// The model's KV cache geometry, from its GGUF metadata.
struct KvGeometry {
  int64_t n_layer = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ctx_train = 0;
  // K and V, every layer, F16: 2 * n_layer * n_head_kv * head_dim * 2 bytes.
  uint64_t bytes_per_token() const { return 2ull * static_cast<uint64_t>(n_layer * n_head_kv * head_dim) * 2ull; }
};

Result<KvGeometry> read_kv_geometry(const std::string& gguf_path);

// A directory holding exactly one .gguf file stands for that file; anything else is returned as is.
Result<std::string> resolve_model_path(const std::string& path);

// The checks, one per rule; each adds its problems to the report.
void check_bind_address(const ServerConfig& config, const HostFacts& facts, ConfigReport& report);
void check_port_free(const ServerConfig& config, const HostFacts& facts, ConfigReport& report);
// Resolves config.model_path (see resolve_model_path) and returns the geometry when readable.
std::optional<KvGeometry> check_model_path(ServerConfig& config, ConfigReport& report);
void check_kv_budget(const ServerConfig& config, const KvGeometry& geometry, ConfigReport& report);
void check_threads(const ServerConfig& config, const HostFacts& facts, ConfigReport& report);
void check_deployment(const ServerConfig& config, ConfigReport& report);  // gpu_id, open API on a network

// All of the above, in order.
void check_host(ServerConfig& config, const HostFacts& facts, ConfigReport& report);

}  // namespace tandem::config
