#include "tools/doctor/endpoint_checks.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "tools/bench/http_connection.h"
#include "tools/doctor/port_owner.h"

namespace tandem::doctor {
namespace http = boost::beast::http;

namespace {

double ms_since(bench::Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(bench::Clock::now() - start).count();
}

std::string format_ms(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

}  // namespace

std::string local_address_for(const std::string& bind_address) {
  if (bind_address == "0.0.0.0" || bind_address.empty()) return "127.0.0.1";
  if (bind_address == "::") return "::1";
  if (bind_address == "localhost") return "127.0.0.1";
  return bind_address;
}

bool check_listener(DoctorReport& report, const std::string& prefix, const std::string& bind_address, int64_t port,
                    const std::string& subcommand, const std::string& config_path) {
  const std::string where = bind_address + ":" + std::to_string(port);
  const std::string name = prefix + "listening";
  const std::string start = "start it: tandem " + subcommand + " --config " + config_path;
  const auto owner = find_port_owner(static_cast<uint16_t>(port));
  if (!owner) {
    report.warn(name, "nothing listens on port " + std::to_string(port) + ": tandem " + subcommand +
                          " is not running, so clients get \"connection refused\" at " + where,
                start);
    return false;
  }
  if (owner->pid == 0) {
    report.fail(name, "port " + std::to_string(port) + " is held by a process this user cannot see",
                "find it with sudo ss -ltnp 'sport = :" + std::to_string(port) +
                    "', then stop it or choose another network.port");
    return false;
  }
  const bool is_tandem = owner->name == "tandem" && (" " + owner->cmdline + " ").find(" " + subcommand + " ") !=
                                                         std::string::npos;
  if (!is_tandem) {
    report.fail(name, "port " + std::to_string(port) + " is held by " + owner->name + " (pid " +
                          std::to_string(owner->pid) + ": " + owner->cmdline + "), not tandem " + subcommand,
                "stop " + owner->name + " (kill " + std::to_string(owner->pid) +
                    ") or choose another network.port in " + config_path);
    return false;
  }
  report.pass(name, "tandem " + subcommand + " (pid " + std::to_string(owner->pid) + ") listens on port " +
                        std::to_string(port));
  return true;
}

HealthResult check_connect_and_health(DoctorReport& report, const std::string& name, const bench::TargetUrl& target,
                                      const std::string& api_key, double timeout_ms, const std::string& fix_target) {
  HealthResult result;
  const std::string where = target.host_header();
  const auto timeout = std::chrono::duration_cast<bench::Clock::duration>(std::chrono::duration<double, std::milli>(timeout_ms));
  bench::HttpConnection connection(target);
  auto start = bench::Clock::now();
  const bench::ExchangeResult connected = connection.connect(start + timeout);
  result.connect_ms = ms_since(start);
  if (connected.failure != bench::ExchangeFailure::kNone) {
    const bool timed_out = connected.failure == bench::ExchangeFailure::kTimeout;
    report.fail(name + ".connect",
                "TCP connect to " + where + " failed: " + connected.detail +
                    (timed_out ? " (no answer: a firewall dropping packets, or a wrong address)"
                               : " (nothing listens there, or the host is unreachable)"),
                "start tandem serve at " + where + ", or correct " + fix_target);
    return result;
  }
  result.connected = true;
  report.pass(name + ".connect", "TCP connect to " + where + " in " + format_ms(result.connect_ms));

  http::request<http::string_body> request{http::verb::get, target.base_path + "/health", 11};
  request.set(http::field::host, target.host_header());
  request.set(http::field::user_agent, "tandem-doctor");
  if (!api_key.empty()) request.set(http::field::authorization, "Bearer " + api_key);
  std::string body;
  start = bench::Clock::now();
  const bench::ExchangeResult answered = connection.exchange(
      request, start + timeout, [](int, std::string_view) {},
      [&](std::string_view piece) {
        if (body.size() < 4096) body.append(piece);
      });
  result.health_ms = ms_since(start);
  if (answered.failure != bench::ExchangeFailure::kNone) {
    report.fail(name + ".health", "GET " + where + target.base_path + "/health failed: " + answered.detail,
                "check that " + where + " is a Tandem server (tandem serve or gateway) and look at its log");
    return result;
  }
  if (answered.status != 200) {
    report.fail(name + ".health",
                "GET " + where + target.base_path + "/health answered " + std::to_string(answered.status) + ": " +
                    body.substr(0, 200),
                answered.status == 401 ? "give the server's key (the link's api_key)"
                                       : "look at the server's log: a 503 means it is not ready (model loading)");
    return result;
  }
  result.healthy = true;
  report.pass(name + ".health", "GET /health answered 200 in " + format_ms(result.health_ms));
  return result;
}

}  // namespace tandem::doctor
