#include "grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <grpcpp/health_check_service_interface.h>

#include "log/log.h"

namespace tandem::grpc_api {

GrpcServer::GrpcServer(GrpcServerOptions options, server::Scheduler& scheduler, metrics::ServerMetrics& metrics,
                       const monitor::Monitor* monitor)
    : options_(std::move(options)), scheduler_(scheduler),
      service_(options_.service, scheduler, metrics, monitor) {}

GrpcServer::~GrpcServer() { shutdown(std::chrono::system_clock::now()); }

Status GrpcServer::start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  const std::string host = options_.address == "localhost" ? "127.0.0.1" : options_.address;
  const std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                            std::to_string(options_.port);
  builder.AddListeningPort(where, grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(options_.max_message_bytes, INT32_MAX)));
  // Answers go out gzip-compressed to clients that accept it (a level, unlike a fixed algorithm,
  // is matched against each client's grpc-accept-encoding; LOW picks gzip), uncompressed to the
  // others; compressed requests are always accepted.
  if (options_.gzip) builder.SetDefaultCompressionLevel(GRPC_COMPRESS_LEVEL_LOW);
  // Keepalive: ping idle connections so NAT and firewall state stays alive and dead peers are
  // found; allow clients' own pings down to every 10 s, even without calls in flight.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_seconds * 1000));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return make_error("cannot listen for gRPC on " + where +
                      ": the port is in use or the address is not of this host; change network.grpc_port or "
                      "network.bind_address");
  }
  health_thread_ = std::thread([this] { watch_health(); });
  return ok_status();
}

void GrpcServer::watch_health() {
  int last = -1;
  std::unique_lock lock(mutex_);
  while (true) {
    const server::SchedulerStatus s = scheduler_.status();
    const bool serving = !stopping_ && s.accepting && s.state == server::ModelState::kReady && s.model;
    if (static_cast<int>(serving) != last) {
      last = serving;
      auto* health = server_->GetHealthCheckService();
      health->SetServingStatus("", serving);
      health->SetServingStatus("tandem.v1.Inference", serving);
    }
    if (stopping_) return;
    // Often enough that the health check agrees with GET /health within a gateway's first probe.
    wake_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

void GrpcServer::stop_accepting() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  if (server_) server_->GetHealthCheckService()->Shutdown();
}

void GrpcServer::shutdown(std::chrono::system_clock::time_point deadline) {
  stop_accepting();
  if (!server_) return;
  server_->Shutdown(deadline);
  server_->Wait();
  server_.reset();
}

}  // namespace tandem::grpc_api
