#include "grpc/inference_service.h"

#include <mutex>
#include <optional>
#include <type_traits>
#include <nlohmann/json.hpp>

#include "grpc/grpc_status.h"
#include "grpc/reply_chunks.h"
#include "grpc/request_translation.h"
#include "http/auth.h"
#include "log/log.h"
#include "openai/openai_api.h"
#include "openai/response_builder.h"

namespace tandem::grpc_api {
namespace {

using server::Clock;

// One streamed generation: the sink the scheduler feeds (from its thread) and the gRPC reactor
// that writes (from gRPC's threads). At most one write is in flight; the lock guards the state
// both sides share. A Chat stream splits its reply with the HTTP API's ReplyParser (reasoning,
// text, tool-call pieces: reply_chunks.h); a Complete stream sends the text as it comes.
// Finish() is always the last thing this object does outside OnDone, which deletes it; it is
// called only after the scheduler's last event (on_finish or on_error), or at once when the
// request never reached the scheduler.
template <class Chunk>
class GenerationStream final : public grpc::ServerWriteReactor<Chunk> {
 public:
  GenerationStream(grpc::CallbackServerContext* context, metrics::ServerMetrics& metrics, std::string route)
      : context_(context), metrics_(metrics), route_(std::move(route)), submitted_(Clock::now()) {}

  // Ends the call before any generation (refused request).
  void refuse(const http::ApiError& error) { finish_now(to_grpc_status(error, context_)); }

  void set_header(std::string id, std::string model) {
    id_ = std::move(id);
    model_ = std::move(model);
  }
  // Chat: how the reply splits, and the text it was made to start with (prepare_generation).
  void set_reply(const openai::ReplyOptions& options, std::string prefix) {
    parser_.emplace(options);
    reply_prefix_ = std::move(prefix);
  }
  const std::shared_ptr<server::CancelToken>& cancel_token() const { return cancel_; }
  void set_cancel_token(std::shared_ptr<server::CancelToken> token) { cancel_ = std::move(token); }

  // ---- the sink's side (scheduler thread) ----

  void on_start() {
    std::unique_lock lock(mutex_);
    if (parser_) add_reply(parser_->feed(reply_prefix_));
    pump(lock);
  }

  bool on_text(std::string_view piece) {
    std::unique_lock lock(mutex_);
    if (broken_) return false;
    if (!first_text_) first_text_ = Clock::now();
    if (parser_) {
      add_reply(parser_->feed(piece));
    } else {
      pending_.mutable_text()->append(piece);
    }
    pump(lock);
    return true;
  }

  void on_finish(const server::GenerationOutcome& o) {
    std::unique_lock lock(mutex_);
    if (parser_) add_reply(parser_->finish());
    // What is not yet written rides on the chunk that ends the stream.
    Chunk last = std::move(pending_);
    pending_.Clear();
    const bool called = parser_ && !parser_->tool_calls().empty();
    last.set_finish_reason(called ? "tool_calls" : o.finish_reason);
    auto* usage = last.mutable_usage();
    usage->set_prompt_tokens(o.n_prompt_tokens);
    usage->set_completion_tokens(o.n_completion_tokens);
    usage->set_cached_tokens(o.n_cached_tokens);
    usage->set_prompt_ms(o.prompt_ms);
    usage->set_predicted_ms(o.predicted_ms);
    const Clock::time_point first = first_text_.value_or(Clock::now());
    usage->set_time_to_first_token_ms(std::chrono::duration<double, std::milli>(first - submitted_).count());
    usage->set_tokens_per_second(o.predicted_ms > 0 ? o.n_completion_tokens * 1000.0 / o.predicted_ms : 0.0);
    final_ = std::move(last);
    pump(lock);
  }

  void on_error(const server::SchedulerError& e) {
    std::unique_lock lock(mutex_);
    status_ = to_grpc_status(openai::to_api_error(e), context_);
    pump(lock);
  }

  // ---- gRPC's side ----

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    writing_ = false;
    if (!ok) {
      // The client is gone: stop generating; the scheduler's on_error(kCancelled) finishes.
      broken_ = true;
      pending_.Clear();
      cancel_->cancel();
    }
    pump(lock);
  }

  void OnCancel() override {
    std::lock_guard lock(mutex_);
    broken_ = true;
    cancel_->cancel();
  }

  void OnDone() override { delete this; }

 private:
  void add_reply(const openai::ReplyDelta& delta) {
    if constexpr (std::is_same_v<Chunk, tandem::v1::ChatChunk>) merge_reply(delta, pending_);
  }

  // Starts the next write, or finishes. Unlocks before calling into gRPC.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finishing_) return;
    if (pending_.ByteSizeLong() > 0 && !broken_ && !final_) {
      chunk_ = std::move(pending_);
      pending_.Clear();
      chunk_.set_id(id_);
      chunk_.set_model(model_);
      writing_ = true;
      lock.unlock();
      this->StartWrite(&chunk_);
      return;
    }
    if (final_ && !broken_) {
      chunk_ = std::move(*final_);
      chunk_.set_id(id_);
      chunk_.set_model(model_);
      finishing_ = true;
      lock.unlock();
      metrics_.record_response(route_, 200);
      this->StartWriteAndFinish(&chunk_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    if (final_ && broken_) status_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
    if (status_) {
      finishing_ = true;
      const grpc::Status status = *status_;
      lock.unlock();
      metrics_.record_response(route_, http_status_for(status.error_code()));
      this->Finish(status);
    }
  }

  void finish_now(grpc::Status status) {
    {
      std::lock_guard lock(mutex_);
      finishing_ = true;
    }
    metrics_.record_response(route_, http_status_for(status.error_code()));
    this->Finish(status);
  }

  grpc::CallbackServerContext* context_;
  metrics::ServerMetrics& metrics_;
  std::string route_;
  Clock::time_point submitted_;
  std::optional<Clock::time_point> first_text_;
  std::shared_ptr<server::CancelToken> cancel_ = std::make_shared<server::CancelToken>();
  std::string id_;
  std::string model_;

  std::mutex mutex_;
  Chunk chunk_;                     // the write in flight (gRPC reads it until OnWriteDone)
  Chunk pending_;                   // text (and reasoning, call pieces) not yet written
  std::optional<openai::ReplyParser> parser_;  // Chat only
  std::string reply_prefix_;
  std::optional<Chunk> final_;      // the generation ended: this chunk ends the stream
  std::optional<grpc::Status> status_;  // the generation failed: the call ends with this
  bool writing_ = false;
  bool finishing_ = false;
  bool broken_ = false;             // cancelled, or a write failed
};

template <class Chunk>
class StreamSink final : public server::GenerationSink {
 public:
  explicit StreamSink(GenerationStream<Chunk>* stream) : stream_(stream) {}
  void on_start(const server::StartInfo&) override { stream_->on_start(); }
  bool on_text(std::string_view piece) override { return stream_->on_text(piece); }
  void on_finish(const server::GenerationOutcome& o) override { stream_->on_finish(o); }
  void on_error(const server::SchedulerError& e) override { stream_->on_error(e); }

 private:
  GenerationStream<Chunk>* stream_;  // lives until after the last event (see GenerationStream)
};

const char* state_name(server::ModelState s) {
  switch (s) {
    case server::ModelState::kReady: return "ready";
    case server::ModelState::kLoading: return "loading";
    case server::ModelState::kUnloaded: break;
  }
  return "unloaded";
}

}  // namespace

InferenceService::InferenceService(ServiceOptions options, server::Scheduler& scheduler,
                                   metrics::ServerMetrics& metrics, const monitor::Monitor* monitor)
    : options_(std::move(options)), scheduler_(scheduler), metrics_(metrics), monitor_(monitor) {}

bool InferenceService::authorized(const grpc::CallbackServerContext* context) const {
  if (options_.api_keys.empty()) return true;
  const auto& metadata = context->client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) return false;
  return http::authorized(std::string_view(it->second.data(), it->second.size()), options_.api_keys);
}

namespace {
const http::ApiError kUnauthorized = http::unauthorized(
    "missing or invalid API key; send the metadata \"authorization: Bearer <key>\" with a key from "
    "security.api_keys");
}

template <class Chunk, class Request>
grpc::ServerWriteReactor<Chunk>* InferenceService::generate(grpc::CallbackServerContext* context,
                                                            const Request& request, bool chat, std::string route) {
  auto* stream = new GenerationStream<Chunk>(context, metrics_, std::move(route));
  if (!authorized(context)) {
    stream->refuse(kUnauthorized);
    return stream;
  }
  openai::ParsedRequest parsed = parse(request);
  if (auto* error = std::get_if<http::ApiError>(&parsed)) {
    stream->refuse(*error);
    return stream;
  }
  openai::CompletionRequest& r = std::get<openai::CompletionRequest>(parsed);
  auto model = openai::servable_model(scheduler_.status(), r.model, options_.model_aliases);
  if (auto* error = std::get_if<http::ApiError>(&model)) {
    stream->refuse(*error);
    return stream;
  }
  const server::ModelInfo& info = std::get<server::ModelInfo>(model);
  // The HTTP API's own preparation: tools and template variables into the prompt, a forced call's
  // grammar, and how the reply splits.
  auto prepared = openai::prepare_generation(r, info, chat, openai::new_completion_id(chat));
  if (auto* error = std::get_if<http::ApiError>(&prepared)) {
    stream->refuse(*error);
    return stream;
  }
  server::GenerationJob& job = std::get<openai::PreparedGeneration>(prepared).job;
  if (chat) stream->set_reply(std::get<openai::PreparedGeneration>(prepared).reply, job.reply_prefix);
  stream->set_header(job.request_id, info.id);
  stream->set_cancel_token(job.cancel);
  auto sink = std::make_shared<StreamSink<Chunk>>(stream);
  if (auto refused = scheduler_.submit(std::move(job), sink)) stream->refuse(openai::to_api_error(*refused));
  return stream;
}

grpc::ServerWriteReactor<tandem::v1::ChatChunk>* InferenceService::Chat(grpc::CallbackServerContext* context,
                                                                        const tandem::v1::ChatRequest* request) {
  return generate<tandem::v1::ChatChunk>(context, *request, true, "/tandem.v1.Inference/Chat");
}

grpc::ServerWriteReactor<tandem::v1::CompleteChunk>* InferenceService::Complete(
    grpc::CallbackServerContext* context, const tandem::v1::CompleteRequest* request) {
  return generate<tandem::v1::CompleteChunk>(context, *request, false, "/tandem.v1.Inference/Complete");
}

grpc::ServerUnaryReactor* InferenceService::ListModels(grpc::CallbackServerContext* context,
                                                       const tandem::v1::ListModelsRequest*,
                                                       tandem::v1::ListModelsResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (!authorized(context)) {
    reactor->Finish(to_grpc_status(kUnauthorized, context));
    return reactor;
  }
  const server::SchedulerStatus status = scheduler_.status();
  if (status.model) {
    auto* m = response->add_models();
    m->set_id(status.model->id);
    m->set_created(status.model->created);
    m->set_context_length(status.model->n_ctx);
  } else {
    response->set_reason(status.reason);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::GetStats(grpc::CallbackServerContext* context,
                                                     const tandem::v1::GetStatsRequest*,
                                                     tandem::v1::GetStatsResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (!authorized(context)) {
    reactor->Finish(to_grpc_status(kUnauthorized, context));
    return reactor;
  }
  const server::SchedulerStatus status = scheduler_.status();
  response->set_model_state(state_name(status.state));
  if (status.state != server::ModelState::kReady) response->set_reason(status.reason);
  response->set_queued(status.queued);
  response->set_running(status.running);
  response->set_accepting(status.accepting);
  response->set_prompt_tokens(metrics_.prompt_tokens.value());
  response->set_generated_tokens(metrics_.generated_tokens.value());
  response->set_rejected_queue_full(metrics_.rejected_queue_full.value());
  response->set_cancelled(metrics_.cancelled.value());
  if (monitor_) response->set_monitor_json(monitor_->stats_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace tandem::grpc_api
