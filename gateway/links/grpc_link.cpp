#include "gateway/links/grpc_link.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>

#include "tandem/v1/inference.grpc.pb.h"

namespace tandem::gateway {
namespace {

using Clock = std::chrono::steady_clock;

struct CallRegistry {
  std::mutex mutex;
  std::condition_variable idle;
  std::set<grpc::ClientContext*> unfinished;  // what shutdown cancels; each context is alive
  int64_t alive = 0;                          // GrpcCallTracking objects not yet destroyed
  bool ending = false;
};

CallRegistry& registry() {
  static CallRegistry r;
  return r;
}

// grpc.health.v1's two messages, written by hand (one string field in, one enum out), so the
// gateway needs no generated code for them.
std::string health_request(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(0x0a);  // field 1, length-delimited
  out.push_back(static_cast<char>(service.size()));
  return out + service;
}

// HealthCheckResponse.status: 1 = SERVING, 2 = NOT_SERVING, 0 = UNKNOWN.
int health_status(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return 0;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.size() >= 2 && bytes[0] == 0x08) return static_cast<unsigned char>(bytes[1]);
  return 0;  // field absent: UNKNOWN (proto3 leaves a zero enum out)
}

FetchResult failure_of(const grpc::Status& status, double rtt_ms) {
  FetchResult r;
  r.rtt_ms = rtt_ms;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    r.error = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? "timed out" : status.error_message();
    r.connection_failed = status.error_code() == grpc::StatusCode::UNAVAILABLE;
    return r;
  }
  r.answered = true;
  r.status = status.error_code() == grpc::StatusCode::UNAUTHENTICATED ? 401 : 500;
  r.body = status.error_message();
  return r;
}

void health_check(boost::asio::io_context& ioc, const LinkConfig& link, std::chrono::milliseconds timeout,
                  std::function<void(FetchResult)> done) {
  struct Call {
    GrpcCallTracking tracking;  // first: destroyed last
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    std::unique_ptr<grpc::GenericStub> stub;
    Clock::time_point started = Clock::now();
  };
  auto call = std::make_shared<Call>();
  call->stub = std::make_unique<grpc::GenericStub>(grpc_channel(link));
  call->context.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!call->tracking.start(&call->context)) call->context.TryCancel();  // shutting down
  const std::string bytes = health_request("");
  grpc::Slice slice(bytes);
  call->request = grpc::ByteBuffer(&slice, 1);
  call->stub->UnaryCall(&call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &call->request,
                        &call->response, [call, &ioc, done = std::move(done)](grpc::Status status) {
                          const double rtt = std::chrono::duration<double, std::milli>(Clock::now() - call->started).count();
                          FetchResult r;
                          if (!status.ok()) {
                            r = failure_of(status, rtt);
                          } else {
                            r.answered = true;
                            r.rtt_ms = rtt;
                            r.status = health_status(call->response) == 1 ? 200 : 503;
                          }
                          boost::asio::post(ioc, [done, r = std::move(r)]() mutable { done(std::move(r)); });
                          call->tracking.finish();
                        });
}

void list_models(boost::asio::io_context& ioc, const LinkConfig& link, const std::string& api_key,
                 std::chrono::milliseconds timeout, std::function<void(FetchResult)> done) {
  struct Call {
    GrpcCallTracking tracking;  // first: destroyed last
    grpc::ClientContext context;
    tandem::v1::ListModelsRequest request;
    tandem::v1::ListModelsResponse response;
    std::unique_ptr<tandem::v1::Inference::Stub> stub;
    Clock::time_point started = Clock::now();
  };
  auto call = std::make_shared<Call>();
  call->stub = tandem::v1::Inference::NewStub(grpc_channel(link));
  call->context.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!api_key.empty()) call->context.AddMetadata("authorization", "Bearer " + api_key);
  if (!call->tracking.start(&call->context)) call->context.TryCancel();  // shutting down
  call->stub->async()->ListModels(&call->context, &call->request, &call->response,
                                  [call, &ioc, done = std::move(done)](grpc::Status status) {
                                    const double rtt =
                                        std::chrono::duration<double, std::milli>(Clock::now() - call->started).count();
                                    FetchResult r;
                                    if (!status.ok()) {
                                      r = failure_of(status, rtt);
                                    } else {
                                      nlohmann::json data = nlohmann::json::array();
                                      for (const auto& m : call->response.models()) {
                                        data.push_back({{"id", m.id()}, {"object", "model"}, {"created", m.created()},
                                                        {"owned_by", "tandem"}, {"context_length", m.context_length()}});
                                      }
                                      r.answered = true;
                                      r.status = 200;
                                      r.rtt_ms = rtt;
                                      r.body = nlohmann::json{{"object", "list"}, {"data", data}}.dump();
                                    }
                                    boost::asio::post(ioc, [done, r = std::move(r)]() mutable { done(std::move(r)); });
                                    call->tracking.finish();
                                  });
}

}  // namespace

std::shared_ptr<grpc::Channel> grpc_channel(const LinkConfig& link) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  const std::string target = link.host + ":" + std::to_string(link.port);
  std::lock_guard lock(mutex);
  auto& channel = channels[target + " " + link.compression];
  if (!channel) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // A link that went down must be retried promptly when it comes back, not after minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // gzip requests; "none" sends them plain. (Answers are the backend's choice:
    // network.grpc_compression. Narrowing the channel's enabled algorithms would not stop them:
    // the backend answered gzip anyway and the call failed.)
    if (link.compression == "gzip") args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
    channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  return channel;
}

GrpcCallTracking::GrpcCallTracking() {
  CallRegistry& r = registry();
  std::lock_guard lock(r.mutex);
  ++r.alive;
}

GrpcCallTracking::~GrpcCallTracking() {
  CallRegistry& r = registry();
  std::lock_guard lock(r.mutex);
  if (context_) r.unfinished.erase(context_);  // a call that never finished (never started)
  if (--r.alive == 0) r.idle.notify_all();
}

bool GrpcCallTracking::start(grpc::ClientContext* context) {
  CallRegistry& r = registry();
  std::lock_guard lock(r.mutex);
  context_ = context;
  r.unfinished.insert(context);
  return !r.ending;
}

void GrpcCallTracking::finish() {
  CallRegistry& r = registry();
  std::lock_guard lock(r.mutex);
  if (context_) r.unfinished.erase(context_);
  context_ = nullptr;
}

bool end_grpc_calls(std::chrono::milliseconds limit) {
  CallRegistry& r = registry();
  std::unique_lock lock(r.mutex);
  r.ending = true;
  // Under the lock: a context leaves `unfinished` before it is destroyed, so each one is alive.
  for (grpc::ClientContext* context : r.unfinished) context->TryCancel();
  return r.idle.wait_for(lock, limit, [&r] { return r.alive == 0; });
}

bool wait_for_grpc_calls(std::chrono::milliseconds limit) {
  CallRegistry& r = registry();
  std::unique_lock lock(r.mutex);
  return r.idle.wait_for(lock, limit, [&r] { return r.alive == 0; });
}

void fetch_link(boost::asio::io_context& ioc, const LinkConfig& link, UpstreamPool& pool, const std::string& target,
                const std::string& api_key, std::chrono::milliseconds timeout, std::function<void(FetchResult)> done) {
  if (link.protocol != "grpc") return fetch(pool, target, api_key, timeout, std::move(done));
  if (target.ends_with("/health")) return health_check(ioc, link, timeout, std::move(done));
  if (target.ends_with("/v1/models")) return list_models(ioc, link, api_key, timeout, std::move(done));
  FetchResult r;
  r.answered = true;
  r.status = 404;
  r.body = "a gRPC link answers only the health check and the model list";
  boost::asio::post(ioc, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
}

}  // namespace tandem::gateway
