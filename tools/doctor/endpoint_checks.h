#pragma once
// The "connection refused" checks of an address Tandem listens on or talks to: who holds a port
// (the expected Tandem process, another program, or nobody), a TCP connect like `telnet HOST
// PORT`, and GET /health. Only the addresses given are contacted, and only with a connect and a
// health request.

#include <cstdint>
#include <optional>
#include <string>

#include "tools/bench/target_url.h"
#include "tools/doctor/doctor_check.h"

namespace tandem::doctor {

// Where to reach a server bound to `bind_address` from this host (0.0.0.0 -> 127.0.0.1).
std::string local_address_for(const std::string& bind_address);

// Is `subcommand` of tandem ("serve", "gateway") the process listening on `port`? PASS (and true)
// when it is, FAIL naming the process (pid and name) when another holds the port, WARN when
// nothing listens (the server is not running: the cause of "connection refused").
// `port_field` is the config field that names the port ("network.grpc_port" for a gRPC listener).
bool check_listener(DoctorReport& report, const std::string& prefix, const std::string& bind_address, int64_t port,
                    const std::string& subcommand, const std::string& config_path,
                    const std::string& port_field = "network.port");

struct HealthResult {
  bool connected = false;
  bool healthy = false;
  double connect_ms = 0;
  double health_ms = 0;
};

// A TCP connect (check `name`.connect), then GET base_path/health (check `name`.health);
// `fix_target` names what to correct when the address is wrong ("links[0].url").
HealthResult check_connect_and_health(DoctorReport& report, const std::string& name, const bench::TargetUrl& target,
                                      const std::string& api_key, double timeout_ms, const std::string& fix_target);

// The same for a gRPC listener (a backend's network.grpc_port, a gateway link of protocol "grpc"):
// a TCP connect, then the standard grpc.health.v1 Check, made by the gateway's own probe
// (gateway/links/grpc_link.h), so doctor sees the link as the gateway does. SERVING passes;
// NOT_SERVING (loading, unloaded) and no answer fail.
HealthResult check_connect_and_grpc_health(DoctorReport& report, const std::string& name, const std::string& host,
                                           uint16_t port, const std::string& api_key, double timeout_ms,
                                           const std::string& fix_target);

}  // namespace tandem::doctor
