#include "tools/doctor/gateway_checks.h"

#include "config/host_checks.h"
#include "gateway/config/gateway_options.h"
#include "tools/doctor/endpoint_checks.h"

namespace tandem::doctor {
namespace {

constexpr const char* kPrefix = "gateway.";

std::string format_ms(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

}  // namespace

std::optional<int64_t> check_gateway(const std::string& config_path, DoctorReport& report) {
  gateway::LoadedGatewayConfig loaded = gateway::load_gateway_config_file(config_path);
  report.add_config_problems(kPrefix, loaded.report, "config",
                             config_path + " loads and validates as tandem gateway would load it (" +
                                 std::to_string(loaded.config.links.size()) + " links)");
  if (loaded.report.has_errors()) return std::nullopt;
  const gateway::GatewayConfig& config = loaded.config;

  // The address rule is serve's (config/host_checks): one rule for both front doors. It reads
  // only the network fields of the ServerConfig it is given.
  config::ServerConfig network;
  network.bind_address = config.bind_address;
  network.port = config.port;
  config::ConfigReport address;
  config::check_bind_address(network, config::host_facts_from_system(), address);
  report.add_config_problems(kPrefix, address, "network.bind_address",
                             config.bind_address + " is an address of this host");
  if (check_listener(report, kPrefix, config.bind_address, config.port, "gateway", config_path)) {
    bench::TargetUrl target{local_address_for(config.bind_address), static_cast<uint16_t>(config.port), ""};
    check_connect_and_health(report, std::string(kPrefix) + "server", target, "", 2000, "network.port");
  }

  const double threshold_ms = static_cast<double>(config.latency_threshold_ms);
  const double timeout_ms = std::max<double>(static_cast<double>(config.probe_timeout_ms), 1000.0);
  for (size_t i = 0; i < config.links.size(); ++i) {
    const gateway::LinkConfig& link = config.links[i];
    const std::string name = std::string(kPrefix) + "link." + link.name;
    const std::string field = "links[" + std::to_string(i) + "].url";
    // Probed as the gateway probes it: GET /health, or the gRPC health service for a gRPC link.
    const HealthResult health =
        link.protocol == "grpc"
            ? check_connect_and_grpc_health(report, name, link.host, link.port, link.api_key, timeout_ms, field)
            : check_connect_and_health(report, name, bench::TargetUrl{link.host, link.port, link.base_path},
                                       link.api_key, timeout_ms, field);
    if (!health.healthy) continue;
    const double rtt = health.health_ms;
    const std::string message = "round trip to " + link.name + " " + format_ms(rtt) + " (connect " +
                                format_ms(health.connect_ms) + ") against the " + format_ms(threshold_ms) +
                                " threshold";
    if (rtt > threshold_ms) {
      report.warn(name + ".latency", message + ": the gateway will count this link as slow and fail over",
                  "check the network path to " + link.host + " (ping, mtr), or raise failover.latency_threshold_ms");
    } else {
      report.pass(name + ".latency", message);
    }
  }
  return config.port;
}

}  // namespace tandem::doctor
