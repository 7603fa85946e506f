#include "gateway/app/gateway_app.h"

#include <signal.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <optional>
#include <thread>

#include "gateway/app/gateway_monitoring.h"
#include "gateway/app/rate_limiter.h"
#include "gateway/app/status_routes.h"
#include "gateway/app/ui_routes.h"
#include "gateway/links/grpc_link.h"
#include "gateway/links/link_set.h"
#include "gateway/links/prober.h"
#include "gateway/proxy/proxy.h"
#include "http/api_error.h"
#include "http/http_server.h"
#include "app/monitor_routes.h"
#include "log/log.h"

namespace tandem::gateway {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

milliseconds to_ms(double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000.0)); }

bool wait_for_signal(const sigset_t& signals, milliseconds timeout) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  return sigtimedwait(&signals, nullptr, &ts) > 0;
}

FailoverRules rules_from(const GatewayConfig& c) {
  FailoverRules r;
  r.latency_threshold_ms = static_cast<double>(c.latency_threshold_ms);
  r.slow_probes = static_cast<int>(c.slow_probes);
  r.failed_probes = static_cast<int>(c.failed_probes);
  r.recover_probes = static_cast<int>(c.recover_probes);
  r.min_hold_seconds = c.min_hold_seconds;
  return r;
}

// Who a rate limit counts against: the key, or the client's address when the gateway is open.
std::string caller_of(const http::HttpRequest& request) {
  const std::string_view auth = request.header("authorization");
  if (!auth.empty()) return std::string(auth);
  const size_t colon = request.client.rfind(':');
  return colon == std::string::npos ? request.client : request.client.substr(0, colon);
}

}  // namespace

int run_gateway(const GatewayConfig& config) {
  log::set_level(config.log_level);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // One thread does all upstream work: probes, pooled connections and every proxied exchange.
  boost::asio::io_context upstream_ioc(1);
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work(
      boost::asio::make_work_guard(upstream_ioc));

  LinkSet links(config.links, rules_from(config));
  std::vector<std::unique_ptr<UpstreamPool>> pools;
  for (size_t i = 0; i < links.size(); ++i) {
    pools.push_back(std::make_unique<UpstreamPool>(upstream_ioc, links.config(i),
                                                   static_cast<size_t>(config.idle_connections_per_link),
                                                   milliseconds(config.upstream_connect_timeout_ms)));
  }
  Prober prober(upstream_ioc, links, pools, milliseconds(config.probe_interval_ms),
                milliseconds(config.probe_timeout_ms));
  GatewayMetrics metrics;
  ProxyContext proxy{upstream_ioc, links, pools, to_ms(config.upstream_timeout), to_ms(config.upstream_total_timeout),
                     milliseconds(std::max<int64_t>(config.probe_timeout_ms, 2000)),
                     [&metrics](double seconds) { metrics.added_latency.observe(seconds); }};
  // Monitoring (issue 13): host collectors, the links' round trips, switch_link reported as an alert.
  GatewayMonitoring monitoring(config, links, metrics);
  RateLimiter limiter(config.requests_per_minute);
  const auto epoch = Clock::now();

  using Forward = void (*)(ProxyContext&, const http::HttpRequest&, std::shared_ptr<http::Responder>);
  auto proxied = [&](Forward forward) {
    return [&, forward](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
      if (limiter.enabled()) {
        const double now = std::chrono::duration<double>(Clock::now() - epoch).count();
        if (const int wait = limiter.admit(caller_of(request), now); wait > 0) {
          metrics.rate_limited.add();
          return responder->send(http::error_response(http::too_many_requests(
              "more than " + std::to_string(config.requests_per_minute) +
                  " requests in a minute with this key (security.requests_per_minute); retry in " +
                  std::to_string(wait) + " s",
              wait)));
        }
      }
      forward(proxy, request, std::move(responder));
    };
  };

  auto ui = UiServices::create(config, links, upstream_ioc, pools);
  if (!ui) {
    log::error(ui.error());
    return 1;
  }

  http::Router router;
  add_status_routes(router, links, metrics);
  (*ui)->add_routes(router);
  server::add_monitor_routes(router, monitoring.monitor());
  router.add("GET", "/v1/models", proxied(&merged_models));
  // The OpenAI API and whatever the backend adds under /v1/ later.
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    router.add_prefix(method, "/v1/", proxied(&proxy_request));
  }

  http::HttpServerOptions options;
  options.address = config.bind_address;
  options.port = static_cast<uint16_t>(config.port);
  options.max_body_bytes = config.max_body_bytes.bytes;
  options.read_timeout = to_ms(config.read_timeout);
  options.idle_timeout = to_ms(config.idle_timeout);
  options.write_timeout = to_ms(config.write_timeout);
  options.api_keys = config.api_keys;
  for (auto& path : (*ui)->public_paths()) options.public_paths.push_back(std::move(path));
  options.screen = [cors = http::CorsPolicy(config.cors_allowed_origins)](const http::HttpRequest& r) {
    return screen_origin(r, cors);
  };
  options.cors_origins = config.cors_allowed_origins;
  options.max_connections = static_cast<size_t>(config.max_connections);
  options.io_threads = 2;
  http::HttpServer server(options, std::move(router));
  if (auto started = server.start(); !started) {
    log::error(started.error());
    return 1;
  }
  std::thread upstream_thread([&upstream_ioc] {
    try {
      upstream_ioc.run();
    } catch (const std::exception& e) {
      log::error(std::string("the upstream I/O thread stopped by an exception: ") + e.what());
    }
  });
  prober.start();
  (*ui)->start();
  monitoring.start();
  std::string names;
  for (size_t i = 0; i < links.size(); ++i) names += (i ? ", " : "") + links.config(i).name + " " + links.config(i).url;
  log::info("listening on http://" + config.bind_address + ":" + std::to_string(server.port()) +
            (config.api_keys.empty() ? " (no API keys)" : " (API keys required)") + "; links: " + names);

  while (!wait_for_signal(signals, milliseconds(1000))) {
  }

  const auto grace = to_ms(config.shutdown_grace);
  log::info("shutting down: " + std::to_string(server.active_exchanges()) + " requests in flight, up to " +
            std::to_string(grace.count() / 1000.0) + " s to finish");
  server.stop_accepting();
  const auto deadline = Clock::now() + grace;
  while (!server.wait_until_idle(std::min(deadline, Clock::now() + milliseconds(100)))) {
    if (Clock::now() >= deadline || wait_for_signal(signals, milliseconds(1))) break;
  }
  server.stop();
  (*ui)->stop();
  monitoring.stop();
  boost::asio::post(upstream_ioc, [&prober, &pools] {
    prober.stop();
    for (auto& p : pools) p->clear();
  });
  // gRPC calls finish on gRPC's threads and post to upstream_ioc: cancel them and wait until they
  // are gone before the context stops and is destroyed (a post after that would crash).
  if (!end_grpc_calls(std::chrono::seconds(10))) log::warn("gRPC calls still in flight after 10 s; stopping anyway");
  std::promise<void> drained;  // what they posted runs first: the context runs in order
  boost::asio::post(upstream_ioc, [&drained] { drained.set_value(); });
  drained.get_future().wait_for(std::chrono::seconds(5));
  work.reset();
  upstream_ioc.stop();
  upstream_thread.join();
  log::info("stopped");
  return 0;
}

}  // namespace tandem::gateway
