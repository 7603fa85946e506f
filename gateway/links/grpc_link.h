#pragma once
// A gRPC link's side of the link machinery (links with "protocol": "grpc"): one channel per link,
// and the two small reads the gateway makes of every link, done the gRPC way: the probe is the
// standard grpc.health.v1 Check (its round trip is the link's RTT), and the model list is
// tandem.v1.Inference/ListModels. fetch_link() answers them in upstream_fetch.h's FetchResult
// shape, so the prober and the model merge treat both kinds of link alike: a health check that
// says SERVING reads as GET /health's 200, NOT_SERVING as 503, and ListModels as /v1/models' JSON.
//
// Threads: gRPC completes calls on its own threads; `done` is posted to `ioc` (the upstream I/O
// thread), like every other upstream event.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "gateway/config/gateway_config.h"
#include "gateway/links/upstream_fetch.h"
#include "gateway/links/upstream_pool.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace tandem::gateway {

// The link's channel, made on first use and kept (gRPC reconnects it as needed). Keepalive pings
// every 30 s keep idle links alive through NAT and firewalls; gzip is asked for on every call.
std::shared_ptr<grpc::Channel> grpc_channel(const LinkConfig& link);

// For an HTTP link: fetch() on its pool. For a gRPC link: target "/health" is the health check,
// "/v1/models" is ListModels; any other target answers 404.
void fetch_link(boost::asio::io_context& ioc, const LinkConfig& link, UpstreamPool& pool, const std::string& target,
                const std::string& api_key, std::chrono::milliseconds timeout, std::function<void(FetchResult)> done);

// The gateway's gRPC calls, so that shutdown can end them before the upstream I/O context they post
// to stops: their callbacks run on gRPC's threads, which outlive it, and an object that owns a call
// may be released on one of them. Each such object has a GrpcCallTracking as its FIRST member (so
// it is destroyed last, after the call's ClientContext and stub):
// - start(context) before the call starts; false once shutdown has begun: cancel the call at once;
// - finish() in the call's last callback, after its last post: there is nothing left to cancel.
// Thread safe.
class GrpcCallTracking {
 public:
  GrpcCallTracking();
  ~GrpcCallTracking();
  GrpcCallTracking(const GrpcCallTracking&) = delete;
  GrpcCallTracking& operator=(const GrpcCallTracking&) = delete;
  bool start(grpc::ClientContext* context);
  void finish();

 private:
  grpc::ClientContext* context_ = nullptr;  // while started and not finished
};

// Cancels every call started and not finished, refuses new ones, and waits until every tracked
// object is destroyed: true when that happened within `limit`. For the gateway's shutdown.
bool end_grpc_calls(std::chrono::milliseconds limit);
// Waits, without cancelling, until every tracked object is destroyed (a tool's short calls, before
// it moves on or exits); true when that happened within `limit`.
bool wait_for_grpc_calls(std::chrono::milliseconds limit);

}  // namespace tandem::gateway
