#include "app/server_app.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "app/monitor_routes.h"
#include "app/ops_routes.h"
#include "app/server_monitoring.h"
#include "grpc/grpc_server.h"
#include "http/http_server.h"
#include "http/request_screen.h"
#include "log/log.h"
#include "metrics/metrics.h"
#include "openai/openai_api.h"
#include "scheduler/batching_scheduler.h"

namespace tandem::server {
namespace {

using std::chrono::milliseconds;

milliseconds to_ms(double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000.0)); }

// Waits up to `timeout` for SIGTERM or SIGINT (blocked in every thread, so only this sees them).
bool wait_for_signal(const sigset_t& signals, milliseconds timeout, int* which = nullptr) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  const int sig = sigtimedwait(&signals, nullptr, &ts);
  if (sig > 0 && which) *which = sig;
  return sig > 0;
}

}  // namespace

int run_server(const config::ServerConfig& config) {
  log::set_level(config.log_level);
  // Block the shutdown signals before any thread starts, so every thread inherits the mask and
  // this thread alone takes them, with sigtimedwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not kill the server

  metrics::ServerMetrics metrics;
  EngineOptions engine;
  engine.n_ctx = static_cast<int32_t>(config.context_size);
  engine.n_batch = static_cast<int32_t>(config.prompt_batch_size);
  engine.n_threads = static_cast<int32_t>(config.threads);
  engine.n_seq = static_cast<int32_t>(std::max<int64_t>(1, config.max_batch_size));
  BatchingSchedulerOptions sched;
  sched.max_concurrent_requests = config.max_concurrent_requests;
  sched.default_max_tokens = static_cast<int32_t>(config.default_max_tokens);
  sched.max_tokens_limit = static_cast<int32_t>(config.max_tokens_limit);
  sched.generation_timeout = to_ms(config.generation_timeout);
  sched.queue_timeout = to_ms(config.queue_timeout);
  EngineBackendOptions backend;
  backend.special_tokens_in_content = config.special_tokens_in_content;
  backend.chat_template_file = config.chat_template_file;
  BatchingScheduler scheduler(sched, engine_backend_loader(engine, backend), metrics);
  // Monitoring (issue 13) stands between the routes and the scheduler: its memory rule can unload
  // the model and have the next request reload it.
  ServerMonitoring monitoring(config, scheduler, metrics);
  Scheduler& routed = monitoring.scheduler();

  // Declared between the scheduler (its tasks load models) and the server (its handlers post to
  // it), so it is destroyed after the one and before the other.
  FileWorker file_worker;
  http::Router router;
  openai::add_openai_routes(router, routed, config.model_aliases);
  const AdminAccess admin{config.admin_api_keys, config.api_keys, config.admin_on_loopback_without_key,
                          config.cors_allowed_origins};
  add_monitor_routes(router, monitoring.monitor());
  add_ops_routes(router, OpsContext{routed, metrics, file_worker, config.model_path, config.model_name,
                                    config.model_directory, admin});

  http::HttpServerOptions options;
  options.address = config.bind_address;
  options.port = static_cast<uint16_t>(config.port);
  options.max_body_bytes = config.max_body_bytes.bytes;
  options.read_timeout = to_ms(config.read_timeout);
  options.idle_timeout = to_ms(config.idle_timeout);
  options.write_timeout = to_ms(config.write_timeout);
  options.max_connections = static_cast<size_t>(config.max_connections);
  options.max_connections_per_address = static_cast<size_t>(config.max_connections_per_address);
  options.api_keys = config.api_keys;
  // An admin key is a user key too, so it passes the server's key check on the admin routes;
  // they then accept admin keys only (admin_access.h).
  if (!options.api_keys.empty()) {
    options.api_keys.insert(options.api_keys.end(), config.admin_api_keys.begin(), config.admin_api_keys.end());
  }
  options.cors_origins = config.cors_allowed_origins;
  options.screen = [screen = http::RequestScreen(config.allowed_hosts, config.cors_allowed_origins)](
                       const http::HttpRequest& request) { return screen.check(request); };
  options.on_response = [&metrics](std::string_view route, int status, double) { metrics.record_response(route, status); };
  http::HttpServer server(options, std::move(router));
  // network.protocol: "http", "grpc" (the gRPC listener alone) or "both". An HTTP server that
  // never starts stops and idles at once, so the shutdown below serves every choice.
  if (config.protocol != "grpc") {
    if (auto started = server.start(); !started) {
      log::error(started.error());
      scheduler.stop();
      return 1;
    }
    log::info("listening on http://" + config.bind_address + ":" + std::to_string(server.port()) +
              (config.api_keys.empty() ? " (no API keys)" : " (API keys required)"));
  }
  std::unique_ptr<grpc_api::GrpcServer> grpc_server;
  if (config.protocol != "http") {
    grpc_api::GrpcServerOptions grpc_options;
    grpc_options.address = config.bind_address;
    grpc_options.port = static_cast<uint16_t>(config.grpc_port);
    grpc_options.max_message_bytes = static_cast<int64_t>(config.max_body_bytes.bytes);
    grpc_options.keepalive_seconds = config.grpc_keepalive_seconds;
    grpc_options.gzip = config.grpc_compression == "gzip";
    grpc_options.service = {options.api_keys, config.model_aliases};
    grpc_server = std::make_unique<grpc_api::GrpcServer>(std::move(grpc_options), routed, metrics, monitoring.monitor());
    if (auto started = grpc_server->start(); !started) {
      log::error(started.error());
      server.stop();
      scheduler.stop();
      return 1;
    }
    log::info("listening for gRPC on " + config.bind_address + ":" + std::to_string(grpc_server->port()) +
              (config.api_keys.empty() ? " (no API keys)" : " (API keys required)"));
  }
  std::string admin_mode = config.admin_api_keys.empty() ? "off" : "admin keys required";
  if (config.admin_on_loopback_without_key) {
    admin_mode = config.admin_api_keys.empty() ? "loopback clients only, no key" : "admin keys or a loopback client";
  }
  admin_mode += config.model_directory.empty() ? "; load reloads model.path only"
                                               : "; load takes models from " + config.model_directory;
  log::info("admin API: " + admin_mode);

  monitoring.start();
  std::atomic<int> first_load{0};  // 0 pending, 1 ok, -1 failed
  scheduler.load_model(config.model_path, model_id_for(config.model_path, config.model_name),
                       [&first_load](Result<ModelInfo> loaded) { first_load = loaded ? 1 : -1; });

  int exit_code = 0;
  while (true) {
    if (wait_for_signal(signals, milliseconds(200))) break;
    if (first_load.load() == -1) {
      log::error("the model could not be loaded; stopping");
      exit_code = 1;
      break;
    }
  }

  // Graceful shutdown: no new work, in-flight requests get the grace period.
  const auto grace = to_ms(config.shutdown_grace);
  log::info("shutting down: " + std::to_string(server.active_exchanges()) + " requests in flight, up to " +
            std::to_string(grace.count() / 1000.0) + " s to finish");
  server.stop_accepting();
  if (grpc_server) grpc_server->stop_accepting();
  scheduler.stop_accepting();
  const auto deadline = Clock::now() + grace;
  bool idle = false;
  while (!(idle = server.wait_until_idle(std::min(deadline, Clock::now() + milliseconds(100))))) {
    if (Clock::now() >= deadline) break;
    if (wait_for_signal(signals, milliseconds(1))) {
      log::warn("second signal: cancelling requests in flight");
      break;
    }
  }
  // gRPC calls get what is left of the grace period; past it they are cancelled.
  if (grpc_server && idle) {
    grpc_server->shutdown(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::max(Clock::duration::zero(), deadline - Clock::now())));
  }
  if (!idle) {
    scheduler.cancel_all();
    server.wait_until_idle(Clock::now() + std::chrono::seconds(5));
  }
  if (grpc_server) grpc_server->shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server.stop();
  monitoring.stop();
  scheduler.stop();
  log::info("stopped");
  return exit_code;
}

}  // namespace tandem::server
