#pragma once
// `tandem doctor --gateway gateway.json`: the config loaded and validated by the gateway's own
// loader (gateway/config: load_gateway_config_file), its listening address checked with serve's
// host checks, and each link reached as the guide does by hand: a TCP connect like `telnet HOST
// PORT`, then GET /health, its round trip against the failover latency threshold.

#include <optional>
#include <string>

#include "tools/doctor/doctor_check.h"

namespace tandem::doctor {

// Returns the gateway's port (for the firewall check), or nullopt when the config did not load.
std::optional<int64_t> check_gateway(const std::string& config_path, DoctorReport& report);

}  // namespace tandem::doctor
