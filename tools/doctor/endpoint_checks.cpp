#include "tools/doctor/endpoint_checks.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <optional>

#include "gateway/links/grpc_link.h"
#include "gateway/links/upstream_pool.h"
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

bench::Clock::duration to_duration(double ms) {
  return std::chrono::duration_cast<bench::Clock::duration>(std::chrono::duration<double, std::milli>(ms));
}

// The TCP connect of both health checks (check `name`.connect); true when it connected.
bool check_connect(DoctorReport& report, const std::string& name, bench::HttpConnection& connection,
                   const std::string& where, double timeout_ms, const std::string& fix_target, HealthResult& result) {
  const auto start = bench::Clock::now();
  const bench::ExchangeResult connected = connection.connect(start + to_duration(timeout_ms));
  result.connect_ms = ms_since(start);
  if (connected.failure != bench::ExchangeFailure::kNone) {
    const bool timed_out = connected.failure == bench::ExchangeFailure::kTimeout;
    report.fail(name + ".connect",
                "TCP connect to " + where + " failed: " + connected.detail +
                    (timed_out ? " (no answer: a firewall dropping packets, or a wrong address)"
                               : " (nothing listens there, or the host is unreachable)"),
                "start tandem serve at " + where + ", or correct " + fix_target);
    return false;
  }
  result.connected = true;
  report.pass(name + ".connect", "TCP connect to " + where + " in " + format_ms(result.connect_ms));
  return true;
}

}  // namespace

std::string local_address_for(const std::string& bind_address) {
  if (bind_address == "0.0.0.0" || bind_address.empty()) return "127.0.0.1";
  if (bind_address == "::") return "::1";
  if (bind_address == "localhost") return "127.0.0.1";
  return bind_address;
}

bool check_listener(DoctorReport& report, const std::string& prefix, const std::string& bind_address, int64_t port,
                    const std::string& subcommand, const std::string& config_path, const std::string& port_field) {
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
                    "', then stop it or choose another " + port_field);
    return false;
  }
  const bool is_tandem = owner->name == "tandem" && (" " + owner->cmdline + " ").find(" " + subcommand + " ") !=
                                                         std::string::npos;
  if (!is_tandem) {
    report.fail(name, "port " + std::to_string(port) + " is held by " + owner->name + " (pid " +
                          std::to_string(owner->pid) + ": " + owner->cmdline + "), not tandem " + subcommand,
                "stop " + owner->name + " (kill " + std::to_string(owner->pid) +
                    ") or choose another " + port_field + " in " + config_path);
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
  const auto timeout = to_duration(timeout_ms);
  bench::HttpConnection connection(target);
  if (!check_connect(report, name, connection, where, timeout_ms, fix_target, result)) return result;
  auto start = bench::Clock::now();

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

HealthResult check_connect_and_grpc_health(DoctorReport& report, const std::string& name, const std::string& host,
                                           uint16_t port, const std::string& api_key, double timeout_ms,
                                           const std::string& fix_target) {
  HealthResult result;
  const std::string where = host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                                                 : host + ":" + std::to_string(port);
  {
    bench::HttpConnection connection(bench::TargetUrl{host, port, ""});
    if (!check_connect(report, name, connection, where, timeout_ms, fix_target, result)) return result;
  }

  gateway::LinkConfig link;
  link.name = name;
  link.protocol = "grpc";
  link.host = host;
  link.port = port;
  link.url = "http://" + where;
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_ms));
  gateway::UpstreamPool unused(ioc, link, 0, timeout);  // fetch_link's signature; a gRPC link has no pool
  std::optional<gateway::FetchResult> got;
  gateway::fetch_link(ioc, link, unused, "/health", api_key, timeout, [&](gateway::FetchResult r) {
    got = std::move(r);
    ioc.stop();
  });
  ioc.run();  // the call has a deadline of `timeout`: its answer always comes
  // The call's last objects are released on gRPC's thread just after its answer; one still being
  // released while the process exits trips gRPC's reference counts (seen: "prior > 0", abort).
  gateway::wait_for_grpc_calls(std::chrono::seconds(2));
  const std::string check = "gRPC health check (grpc.health.v1.Health/Check) of " + where;
  if (!got || !got->answered) {
    report.fail(name + ".health", check + " failed: " + (got ? got->error : std::string("no answer")),
                "check that " + where + " is a Tandem gRPC listener (network.protocol \"grpc\" or \"both\", at "
                "network.grpc_port) and look at its log");
    return result;
  }
  result.health_ms = got->rtt_ms;
  if (got->status != 200) {
    report.fail(name + ".health",
                check + (got->status == 503 ? " answered NOT_SERVING" : " failed: " + got->body),
                got->status == 503 ? "look at the server's log: it is loading a model, has none loaded, or is "
                                     "shutting down"
                                   : "look at the server's log");
    return result;
  }
  result.healthy = true;
  report.pass(name + ".health", check + " answered SERVING in " + format_ms(result.health_ms));
  return result;
}

}  // namespace tandem::doctor
