#pragma once
// The gRPC listener of `tandem serve` (network.protocol "grpc" or "both"): tandem.v1.Inference,
// the standard grpc.health.v1.Health service, gzip, keepalive and message-size limits.
// Health follows the scheduler: SERVING while a model is ready and requests are accepted,
// NOT_SERVING otherwise (unloaded, loading, shutting down); a small thread polls it every 20 ms.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "grpc/inference_service.h"

namespace grpc {
class Server;
}

namespace tandem::grpc_api {

struct GrpcServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 9090;  // 0 = any free port (tests)
  int64_t max_message_bytes = 8 << 20;  // requests larger are RESOURCE_EXHAUSTED
  int64_t keepalive_seconds = 30;       // ping an idle connection this often
  bool gzip = true;                     // answer gzip-compressed (network.grpc_compression)
  ServiceOptions service;
};

class GrpcServer {
 public:
  GrpcServer(GrpcServerOptions options, server::Scheduler& scheduler, metrics::ServerMetrics& metrics,
             const monitor::Monitor* monitor);
  ~GrpcServer();

  Status start();
  int port() const { return port_; }
  // Health turns NOT_SERVING for good; calls in flight go on.
  void stop_accepting();
  // Waits for calls in flight until `deadline`, then cancels them (their jobs are cancelled).
  void shutdown(std::chrono::system_clock::time_point deadline);

 private:
  void watch_health();

  GrpcServerOptions options_;
  server::Scheduler& scheduler_;
  InferenceService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::thread health_thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace tandem::grpc_api
