#include "gateway/proxy/grpc_forward.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

#include "gateway/links/grpc_link.h"
#include "gateway/proxy/grpc_chat_translation.h"
#include "gateway/proxy/proxy.h"
#include "http/api_error.h"
#include "openai/completion_request.h"
#include "openai/response_builder.h"
#include "tandem/v1/inference.grpc.pb.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;
using Kind = GrpcOutcome::Kind;
using Clock = std::chrono::steady_clock;

std::string seconds_text(std::chrono::milliseconds ms) {
  const auto s = ms.count() / 1000.0;
  char text[32];
  std::snprintf(text, sizeof text, s == static_cast<double>(static_cast<int64_t>(s)) ? "%.0f s" : "%.1f s", s);
  return text;
}

// Copies the request's sampling fields onto the proto; the body passed the backend's parser, whose
// reading (`parsed`) gives logit_bias its token ids and float values.
void fill_sampling(const json& body, const openai::CompletionRequest& parsed, tandem::v1::Sampling& s) {
  auto number = [&](const char* name) -> const json* {
    auto it = body.find(name);
    return it != body.end() && it->is_number() ? &*it : nullptr;
  };
  if (auto* v = number("max_completion_tokens")) {
    s.set_max_tokens(v->get<int32_t>());
  } else if (auto* m = number("max_tokens")) {
    s.set_max_tokens(m->get<int32_t>());
  }
  if (auto* v = number("temperature")) s.set_temperature(v->get<double>());
  if (auto* v = number("top_p")) s.set_top_p(v->get<double>());
  if (auto* v = number("top_k")) s.set_top_k(v->get<int32_t>());
  if (auto* v = number("min_p")) s.set_min_p(v->get<double>());
  if (auto* v = number("seed")) s.set_seed(v->get<int64_t>());
  if (auto* v = number("presence_penalty")) s.set_presence_penalty(v->get<double>());
  if (auto* v = number("frequency_penalty")) s.set_frequency_penalty(v->get<double>());
  if (auto* v = number("repeat_penalty")) s.set_repeat_penalty(v->get<double>());
  if (auto it = body.find("stop"); it != body.end()) {
    if (it->is_string()) s.add_stop(it->get<std::string>());
    if (it->is_array()) {
      for (const auto& x : *it) s.add_stop(x.get<std::string>());
    }
  }
  // Keys like "5" and "05" name one token; the sampler adds both biases, and so does this.
  for (const auto& [id, bias] : parsed.sampling.logit_bias) (*s.mutable_logit_bias())[id] += bias;
}

http::ApiError api_error_of(const grpc::Status& status, const std::multimap<grpc::string_ref, grpc::string_ref>& trailers) {
  auto get = [&](const char* key) {
    auto it = trailers.find(key);
    return it == trailers.end() ? std::string() : std::string(it->second.data(), it->second.size());
  };
  const std::string message = status.error_message();
  const std::string code = get("tandem-error-code");
  const std::string param = get("tandem-error-param");
  const int retry_after = std::atoi(get("retry-after").c_str());
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT: return http::invalid_request(message, param, code);
    case grpc::StatusCode::NOT_FOUND: return http::not_found(message, param, code.empty() ? "not_found" : code);
    case grpc::StatusCode::UNAUTHENTICATED:
      // The gateway's key for the link was refused: the client's request is not at fault.
      return http::ApiError{502, "the link refused the gateway's key: " + message, "server_error", "", "upstream_auth"};
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return http::too_many_requests(message, std::max(1, retry_after));
    case grpc::StatusCode::UNAVAILABLE: return http::unavailable(message, code, retry_after);
    default: return http::ApiError{502, "the link failed: " + message, "server_error", "", "upstream_failed"};
  }
}

// A gRPC UNAVAILABLE without Tandem's error code never reached the service: the link is down.
bool is_connection_failure(const grpc::Status& status,
                           const std::multimap<grpc::string_ref, grpc::string_ref>& trailers) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE && trailers.find("tandem-error-code") == trailers.end();
}

// What the client asked the answer to look like.
struct ForwardShape {
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  int32_t n = 1;
};

template <class Request, class Chunk>
class Forward final : public GrpcCall, public grpc::ClientReadReactor<Chunk> {
 public:
  Forward(boost::asio::io_context& ioc, std::shared_ptr<http::Responder> responder, bool chat, ForwardShape shape,
          bool may_retry, std::function<void(GrpcOutcome)> done)
      : ioc_(ioc), responder_(std::move(responder)), chat_(chat), stream_(shape.stream),
        include_usage_(shape.include_usage), may_retry_(may_retry), done_(std::move(done)),
        choices_(chat, shape.logprobs, std::max(1, shape.n)),
        idle_timer_(std::make_unique<boost::asio::steady_timer>(ioc)) {}

  void start(const LinkConfig& link, Request request, GrpcTimeouts timeouts, std::shared_ptr<Forward> self) {
    self_ = self;
    link_name_ = link.name;
    request_ = std::move(request);
    timeouts_ = timeouts;
    stub_ = tandem::v1::Inference::NewStub(grpc_channel(link));
    if (!link.api_key.empty()) context_.AddMetadata("authorization", "Bearer " + link.api_key);
    // The whole call's cap is gRPC's deadline; each wait's bound is the idle timer (watch_idle).
    if (timeouts.total.count() > 0) context_.set_deadline(std::chrono::system_clock::now() + timeouts.total);
    if (!tracking_.start(&context_)) context_.TryCancel();  // the gateway is shutting down
    last_read_.store(Clock::now().time_since_epoch().count());
    watch_idle(std::move(self), timeouts.idle);
    if constexpr (std::is_same_v<Request, tandem::v1::ChatRequest>) {
      stub_->async()->Chat(&context_, &request_, this);
    } else {
      stub_->async()->Complete(&context_, &request_, this);
    }
    // The reads are a flow that continues from outside gRPC's callbacks (read_when_client_keeps_up),
    // so, as gRPC asks, a hold taken before StartCall keeps the call until that flow ends.
    this->AddHold();
    this->StartRead(&chunk_);
    this->StartCall();
  }

  void cancel() override {
    cancelled_ = true;
    context_.TryCancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return this->RemoveHold();  // the stream ended: no more reads; OnDone has the status
    last_read_.store(Clock::now().time_since_epoch().count());
    if (header_.id.empty()) header_ = {chunk_.id(), static_cast<int64_t>(std::time(nullptr)), chunk_.model()};
    // A chunk of a choice the request did not ask for is the backend's error: the call ends.
    auto events = choices_.add(chunk_, header_, include_usage_);
    if (!events) {
      bad_index_ = true;
      context_.TryCancel();
      return this->RemoveHold();  // no more reads
    }
    if (stream_) send_events(*events);
    read_when_client_keeps_up();
  }

  void OnDone(const grpc::Status& status) override {
    finished_ = true;
    GrpcOutcome outcome = finish(status);
    // What belongs to the upstream I/O thread (the timer, the responder) is let go there; the last
    // reference may be dropped on either thread, and shutdown waits for it (tracking_).
    boost::asio::post(ioc_, [self = self_, done = std::move(done_), outcome = std::move(outcome)] {
      self->idle_timer_->cancel();
      self->idle_timer_.reset();
      self->responder_.reset();
      done(outcome);
    });
    tracking_.finish();
    self_.reset();  // the last thing: may delete this
  }

 private:
  // Backpressure (proxy.h): the next message is asked for once the client has taken most of what
  // it was sent, so gRPC's flow control holds the backend back meanwhile. The waiter runs once the
  // client's writes drain or it disconnects (then cancel() ends the call, and the read it starts
  // completes at once). While paused no read is pending, and a call that ends then (its deadline,
  // a reset link) would have its reader destroyed by gRPC before OnDone, but for the hold taken in
  // start(): the waiter's read, started outside gRPC's callbacks, finds the call there. The waiter
  // always runs (the session's end, or shutdown's close of every connection, counts as a
  // disconnect), so the hold cannot keep a call for ever. The idle timer does not count the wait
  // (paused_).
  void read_when_client_keeps_up() {
    if (!started_ || responder_->pending_bytes() <= kClientPendingLimit) return this->StartRead(&chunk_);
    paused_ = true;
    responder_->when_drained(kClientPendingLimit / 2, [self = self_] {  // self_ stays until OnDone, after the hold
      self->last_read_.store(Clock::now().time_since_epoch().count());
      self->paused_ = false;
      self->StartRead(&self->chunk_);  // on a call that has ended: OnReadDone(false), then OnDone
    });
  }

  // Cancels the call when nothing has come from the link for `idle` (before the first chunk too).
  // Runs on the upstream I/O thread; holds the call alive until it fires or is stopped.
  void watch_idle(std::shared_ptr<Forward> self, Clock::duration wait) {
    idle_timer_->expires_after(wait);
    idle_timer_->async_wait([self = std::move(self)](const boost::system::error_code& ec) mutable {
      if (ec || self->finished_) return;
      if (self->paused_) return self->watch_idle(std::move(self), self->timeouts_.idle);  // the client's wait
      const Clock::time_point last{Clock::duration(self->last_read_.load())};
      const Clock::duration quiet = Clock::now() - last;
      if (quiet < self->timeouts_.idle) return self->watch_idle(std::move(self), self->timeouts_.idle - quiet);
      self->timed_out_ = true;
      self->context_.TryCancel();
    });
  }

  void begin_stream() {
    if (started_) return;
    started_ = true;
    responder_->start_stream(200, "text/event-stream", {{"X-Tandem-Link", link_name_}});
  }

  // A chunk's server-sent events, as the HTTP API streams them (grpc_chat_translation.h).
  void send_events(const std::vector<json>& events) {
    begin_stream();
    std::string out;
    for (const json& e : events) out += openai::sse_data(e);
    if (!out.empty()) responder_->send_chunk(std::move(out));
  }

  GrpcOutcome finish(const grpc::Status& status) {
    if (cancelled_) return {Kind::kCancelled, 499, "", false};
    if (timed_out_ || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      // As an HTTP link's timeout: the link is slow or stalled, not unreachable.
      const std::string why = timed_out_ ? "no answer within " + seconds_text(timeouts_.idle) +
                                               " (timeouts.upstream_seconds)"
                                         : "the response took longer than " + seconds_text(timeouts_.total) +
                                               " (timeouts.upstream_total_seconds)";
      if (!started_) return {Kind::kFailedBeforeBytes, 0, why, false};
      const http::ApiError error{502, "the link " + link_name_ + " failed during the response: " + why +
                                          "; the text so far is incomplete",
                                 "server_error", "", "upstream_failed"};
      responder_->end_stream("data: " + http::error_response(error).body + "\n\n");
      return {Kind::kFailedAfterBytes, error.status, why, false};
    }
    if (status.ok() && !bad_index_ && choices_.all_finished()) {
      if (!stream_) {
        responder_->send(http::HttpResponse{200, "application/json", openai::dump(choices_.whole_body(header_)),
                                            {{"X-Tandem-Link", link_name_}}});
        return {Kind::kAnswered, 200, "", false};
      }
      begin_stream();
      std::string end;
      if (include_usage_) end += openai::sse_data(openai::usage_chunk(header_, chat_, choices_.usage()));
      end += openai::kSseDone;
      responder_->end_stream(std::move(end));
      return {Kind::kAnswered, 200, "", false};
    }
    const auto& trailers = context_.GetServerTrailingMetadata();
    const grpc::Status failed =
        bad_index_ ? grpc::Status(grpc::StatusCode::INTERNAL, "a chunk named a choice the request did not ask for")
        : status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL, "the stream ended without a finish_reason")
                      : status;
    if (started_) {
      const http::ApiError error = api_error_of(failed, trailers);
      responder_->end_stream("data: " + http::error_response(error).body + "\n\n");
      return {Kind::kFailedAfterBytes, error.status, failed.error_message(), false};
    }
    if (is_connection_failure(failed, trailers)) {
      return {Kind::kFailedBeforeBytes, 0, failed.error_message(), true};
    }
    if (failed.error_code() == grpc::StatusCode::UNAVAILABLE && may_retry_) {
      return {Kind::kFailedBeforeBytes, 503, "answered UNAVAILABLE: " + failed.error_message(), false};
    }
    const http::ApiError error = api_error_of(failed, trailers);
    http::HttpResponse response = http::error_response(error);
    response.headers.emplace_back("X-Tandem-Link", link_name_);
    responder_->send(std::move(response));
    return {Kind::kAnswered, error.status, "", false};
  }

  GrpcCallTracking tracking_;  // first: destroyed last, after the call's context and stub
  boost::asio::io_context& ioc_;
  std::shared_ptr<http::Responder> responder_;
  bool chat_;
  bool stream_;
  bool include_usage_;
  bool may_retry_;
  std::function<void(GrpcOutcome)> done_;
  std::shared_ptr<Forward> self_;  // kept alive until OnDone
  std::unique_ptr<tandem::v1::Inference::Stub> stub_;
  grpc::ClientContext context_;
  Request request_;
  Chunk chunk_;
  openai::ResponseHeader header_;
  ChoiceReplies<Chunk> choices_;  // each choice's reply so far, and how to render it
  bool bad_index_ = false;
  std::string link_name_;
  bool started_ = false;
  std::atomic<bool> cancelled_{false};
  GrpcTimeouts timeouts_;
  std::unique_ptr<boost::asio::steady_timer> idle_timer_;  // upstream I/O thread only
  std::atomic<Clock::rep> last_read_{0};            // when the link last sent (or the call began)
  std::atomic<bool> finished_{false};  // OnDone has run
  std::atomic<bool> paused_{false};    // waiting for the client to drain (read_when_client_keeps_up)
  std::atomic<bool> timed_out_{false};
};

void answer_now(boost::asio::io_context& ioc, http::Responder& responder, const http::ApiError& error,
                std::function<void(GrpcOutcome)> done) {
  responder.send(http::error_response(error));
  boost::asio::post(ioc, [done = std::move(done), status = error.status] { done({Kind::kAnswered, status, "", false}); });
}

struct NoCall final : GrpcCall {
  void cancel() override {}
};

}  // namespace

std::shared_ptr<GrpcCall> forward_grpc(boost::asio::io_context& ioc, const LinkConfig& link,
                                       const http::HttpRequest& request, std::shared_ptr<http::Responder> responder,
                                       GrpcTimeouts timeouts, bool may_retry,
                                       std::function<void(GrpcOutcome)> done) {
  const std::string path = request.path;
  const bool chat = path == "/v1/chat/completions";
  if (request.method != "POST" || (!chat && path != "/v1/completions")) {
    answer_now(ioc, *responder,
               http::not_found("the route " + request.method + " " + path + " is not available through a gRPC link; "
                               "use POST /v1/chat/completions, POST /v1/completions or GET /v1/models"),
               std::move(done));
    return std::make_shared<NoCall>();
  }
  openai::ParsedRequest parsed = chat ? openai::parse_chat_request(request.body)
                                      : openai::parse_completion_request(request.body);
  if (auto* error = std::get_if<http::ApiError>(&parsed)) {
    answer_now(ioc, *responder, *error, std::move(done));
    return std::make_shared<NoCall>();
  }
  const json body = json::parse(request.body, nullptr, false);
  const auto& r = std::get<openai::CompletionRequest>(parsed);
  if (chat) {
    tandem::v1::ChatRequest req;
    req.set_model(r.model);
    fill_chat_request(nlohmann::ordered_json::parse(request.body, nullptr, false), r, req);
    fill_sampling(body, r, *req.mutable_sampling());
    fill_choices(r, req);
    auto f = std::make_shared<Forward<tandem::v1::ChatRequest, tandem::v1::ChatChunk>>(
        ioc, std::move(responder), true, ForwardShape{r.stream, r.include_usage, r.top_logprobs >= 0, r.n}, may_retry,
        std::move(done));
    f->start(link, std::move(req), timeouts, f);
    return f;
  }
  tandem::v1::CompleteRequest req;
  req.set_model(r.model);
  req.set_prompt(r.prompt);
  fill_sampling(body, r, *req.mutable_sampling());
  fill_choices(r, req);
  auto f = std::make_shared<Forward<tandem::v1::CompleteRequest, tandem::v1::CompleteChunk>>(
      ioc, std::move(responder), false, ForwardShape{r.stream, r.include_usage, r.top_logprobs >= 0, r.n}, may_retry,
      std::move(done));
  f->start(link, std::move(req), timeouts, f);
  return f;
}

}  // namespace tandem::gateway
