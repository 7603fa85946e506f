#include "gateway/proxy/grpc_forward.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

#include "gateway/links/grpc_link.h"
#include "http/api_error.h"
#include "openai/completion_request.h"
#include "openai/response_builder.h"
#include "tandem/v1/inference.grpc.pb.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;
using Kind = GrpcOutcome::Kind;

std::string text_of(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;  // an array of parts: the text ones (the parser refused any other kind)
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.contains("text") && part["text"].is_string()) text += part["text"].get<std::string>();
    }
  }
  return text;
}

// Copies the request's sampling fields onto the proto; the body passed the backend's parser.
void fill_sampling(const json& body, tandem::v1::Sampling& s) {
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
}

// What gRPC cannot carry: refused rather than silently dropped.
std::optional<http::ApiError> not_carried(const json& body) {
  for (const char* name : {"logprobs", "top_logprobs", "echo", "suffix", "best_of"}) {
    auto it = body.find(name);
    if (it != body.end() && !it->is_null() && *it != false && *it != 0) {
      return http::invalid_request(std::string(name) + " is not available through a gRPC link; leave it out, or "
                                   "ask the gateway's administrator for an HTTP link",
                                   name);
    }
  }
  if (auto it = body.find("n"); it != body.end() && it->is_number() && *it != 1) {
    return http::invalid_request("n must be 1 through a gRPC link; send one request per reply", "n");
  }
  return std::nullopt;
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
  return (status.error_code() == grpc::StatusCode::UNAVAILABLE && trailers.find("tandem-error-code") == trailers.end()) ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

template <class Request, class Chunk>
class Forward final : public GrpcCall, public grpc::ClientReadReactor<Chunk> {
 public:
  Forward(boost::asio::io_context& ioc, std::shared_ptr<http::Responder> responder, bool chat, bool stream,
          bool include_usage, bool may_retry, std::function<void(GrpcOutcome)> done)
      : ioc_(ioc), responder_(std::move(responder)), chat_(chat), stream_(stream), include_usage_(include_usage),
        may_retry_(may_retry), done_(std::move(done)) {}

  void start(const LinkConfig& link, Request request, std::chrono::milliseconds timeout,
             std::shared_ptr<Forward> self) {
    self_ = std::move(self);
    link_name_ = link.name;
    request_ = std::move(request);
    stub_ = tandem::v1::Inference::NewStub(grpc_channel(link));
    if (!link.api_key.empty()) context_.AddMetadata("authorization", "Bearer " + link.api_key);
    // Each wait on the link is bounded by proxy.upstream_timeout; a generation as a whole too.
    context_.set_deadline(std::chrono::system_clock::now() + timeout);
    if constexpr (std::is_same_v<Request, tandem::v1::ChatRequest>) {
      stub_->async()->Chat(&context_, &request_, this);
    } else {
      stub_->async()->Complete(&context_, &request_, this);
    }
    this->StartRead(&chunk_);
    this->StartCall();
  }

  void cancel() override {
    cancelled_ = true;
    context_.TryCancel();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended: OnDone has the status
    if (header_.id.empty()) header_ = {chunk_.id(), static_cast<int64_t>(std::time(nullptr)), chunk_.model()};
    if (!chunk_.finish_reason().empty()) {
      text_ += chunk_.text();
      last_ = chunk_;
    } else {
      text_ += chunk_.text();
      if (stream_) send_text(chunk_.text());
    }
    this->StartRead(&chunk_);
  }

  void OnDone(const grpc::Status& status) override {
    GrpcOutcome outcome = finish(status);
    boost::asio::post(ioc_, [done = std::move(done_), outcome = std::move(outcome)] { done(outcome); });
    self_.reset();  // the last thing: may delete this
  }

 private:
  void begin_stream() {
    if (started_) return;
    started_ = true;
    responder_->start_stream(200, "text/event-stream", {{"X-Tandem-Link", link_name_}});
    if (chat_) {
      responder_->send_chunk(openai::sse_data(
          openai::chat_chunk(header_, {{"role", "assistant"}, {"content", ""}}, "", include_usage_)));
    }
  }

  void send_text(const std::string& text) {
    begin_stream();
    if (text.empty()) return;
    responder_->send_chunk(openai::sse_data(chat_ ? openai::chat_chunk(header_, {{"content", text}}, "", include_usage_)
                                                  : openai::text_chunk(header_, text, "", include_usage_)));
  }

  json timings() const {
    const auto& u = last_->usage();
    return openai::timings_json(openai::Timings{std::max(0, u.prompt_tokens() - u.cached_tokens()), u.cached_tokens(),
                                                u.prompt_ms(), u.completion_tokens(), u.predicted_ms()});
  }

  GrpcOutcome finish(const grpc::Status& status) {
    if (cancelled_) return {Kind::kCancelled, 499, "", false};
    if (status.ok() && last_) {
      const openai::Usage usage{last_->usage().prompt_tokens(), last_->usage().completion_tokens()};
      if (!stream_) {
        json body = chat_ ? openai::chat_completion(header_, text_, last_->finish_reason(), usage)
                          : openai::text_completion(header_, text_, last_->finish_reason(), usage);
        body["timings"] = timings();
        responder_->send(http::HttpResponse{200, "application/json", openai::dump(body), {{"X-Tandem-Link", link_name_}}});
        return {Kind::kAnswered, 200, "", false};
      }
      if (!last_->text().empty()) send_text(last_->text());
      begin_stream();
      json tail = chat_ ? openai::chat_chunk(header_, json::object(), last_->finish_reason(), include_usage_)
                        : openai::text_chunk(header_, "", last_->finish_reason(), include_usage_);
      tail["timings"] = timings();
      std::string end = openai::sse_data(tail);
      if (include_usage_) end += openai::sse_data(openai::usage_chunk(header_, chat_, usage));
      end += openai::kSseDone;
      responder_->end_stream(std::move(end));
      return {Kind::kAnswered, 200, "", false};
    }
    const auto& trailers = context_.GetServerTrailingMetadata();
    const grpc::Status failed = status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL, "the stream ended without "
                                                                                       "a finish_reason")
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
  std::optional<Chunk> last_;
  openai::ResponseHeader header_;
  std::string text_;
  std::string link_name_;
  bool started_ = false;
  std::atomic<bool> cancelled_{false};
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
                                       std::chrono::milliseconds timeout, bool may_retry,
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
  if (auto refused = not_carried(body)) {
    answer_now(ioc, *responder, *refused, std::move(done));
    return std::make_shared<NoCall>();
  }
  const auto& r = std::get<openai::CompletionRequest>(parsed);
  if (chat) {
    tandem::v1::ChatRequest req;
    req.set_model(r.model);
    for (const auto& m : body.at("messages")) {
      auto* message = req.add_messages();
      message->set_role(m.value("role", ""));
      if (m.contains("content")) message->set_content(text_of(m["content"]));
    }
    fill_sampling(body, *req.mutable_sampling());
    auto f = std::make_shared<Forward<tandem::v1::ChatRequest, tandem::v1::ChatChunk>>(
        ioc, std::move(responder), true, r.stream, r.include_usage, may_retry, std::move(done));
    f->start(link, std::move(req), timeout, f);
    return f;
  }
  tandem::v1::CompleteRequest req;
  req.set_model(r.model);
  req.set_prompt(r.prompt);
  fill_sampling(body, *req.mutable_sampling());
  auto f = std::make_shared<Forward<tandem::v1::CompleteRequest, tandem::v1::CompleteChunk>>(
      ioc, std::move(responder), false, r.stream, r.include_usage, may_retry, std::move(done));
  f->start(link, std::move(req), timeout, f);
  return f;
}

}  // namespace tandem::gateway
