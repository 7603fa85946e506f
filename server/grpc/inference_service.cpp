#include "grpc/inference_service.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>
#include <type_traits>
#include <nlohmann/json.hpp>

#include "grpc/grpc_status.h"
#include "grpc/reply_chunks.h"
#include "grpc/request_translation.h"
#include "http/auth.h"
#include "log/log.h"
#include "openai/multi_choice.h"
#include "openai/openai_api.h"
#include "openai/response_builder.h"

namespace tandem::grpc_api {
namespace {

using server::Clock;

// One streamed request: the sinks the scheduler feeds (one per choice, from its thread) and the
// gRPC reactor that writes (from gRPC's threads). At most one write is in flight; the lock guards
// the state both sides share. A Chat stream splits each choice's reply with the HTTP API's
// ReplyParser (reasoning, text, tool-call pieces: reply_chunks.h); a Complete stream sends the text
// as it comes. A choice's tokens' log probabilities ride on the chunk that carries the text they
// made, as the HTTP API attaches them. With n > 1 the choices' chunks interleave, each with its
// index; the first error is the answer and cancels the other choices (as the HTTP API's n).
// Finish() is always the last thing this object does outside OnDone, which deletes it; it is
// called only after every submitted choice's last event (on_finish or on_error), or at once when
// no choice reached the scheduler.
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
  // Called before any choice is submitted: n choices, and whether their tokens' logprobs are sent.
  void set_choices(int32_t n, bool logprobs) {
    choices_.resize(static_cast<size_t>(n));
    expected_ = n;
    logprobs_ = logprobs;
  }
  // Chat: how the reply splits, and the text it was made to start with (prepare_generation).
  void set_reply(const openai::ReplyOptions& options, std::string prefix) {
    for (Choice& c : choices_) c.parser.emplace(options);
    reply_prefix_ = std::move(prefix);
  }
  void add_cancel_token(std::shared_ptr<server::CancelToken> token) {
    std::lock_guard lock(mutex_);
    cancels_.push_back(std::move(token));
    if (broken_ || status_) cancels_.back()->cancel();
  }
  // Choice `submitted` (and those after it) never reached the scheduler: `error` is the answer once
  // the choices before it have ended.
  void abandon(int32_t submitted, const http::ApiError& error) {
    std::unique_lock lock(mutex_);
    expected_ = submitted;
    fail_locked(to_grpc_status(error, context_));
    pump(lock);
  }

  // ---- the sinks' side (scheduler thread) ----

  void on_start(int32_t i) {
    std::unique_lock lock(mutex_);
    Choice& c = choice(i);
    if (c.parser) add_reply(c, c.parser->feed(reply_prefix_));
    pump(lock);
  }

  void on_token(int32_t i, const TokenLogprobs& token) {
    std::lock_guard lock(mutex_);
    if (logprobs_) choice(i).tokens.push_back(token);
  }

  bool on_text(int32_t i, std::string_view piece) {
    std::unique_lock lock(mutex_);
    if (broken_ || status_) return false;
    Choice& c = choice(i);
    if (!c.first_text) c.first_text = Clock::now();
    if (c.parser) {
      add_reply(c, c.parser->feed(piece));
    } else {
      c.pending.mutable_text()->append(piece);
      attach_tokens(c, c.pending);
    }
    pump(lock);
    return true;
  }

  void on_finish(int32_t i, const server::GenerationOutcome& o) {
    std::unique_lock lock(mutex_);
    Choice& c = choice(i);
    if (c.parser) add_reply(c, c.parser->finish());
    // What is not yet written rides on the chunk that ends the choice, with the tokens whose text
    // was held back (a possible stop string) or empty.
    Chunk last = std::move(c.pending);
    c.pending.Clear();
    attach_tokens(c, last);
    const bool called = c.parser && !c.parser->tool_calls().empty();
    last.set_finish_reason(called ? "tool_calls" : o.finish_reason);
    auto* usage = last.mutable_usage();
    usage->set_prompt_tokens(o.n_prompt_tokens);
    usage->set_completion_tokens(o.n_completion_tokens);
    usage->set_cached_tokens(o.n_cached_tokens);
    usage->set_prompt_ms(o.prompt_ms);
    usage->set_predicted_ms(o.predicted_ms);
    const Clock::time_point first = c.first_text.value_or(Clock::now());
    usage->set_time_to_first_token_ms(std::chrono::duration<double, std::milli>(first - submitted_).count());
    usage->set_tokens_per_second(o.predicted_ms > 0 ? o.n_completion_tokens * 1000.0 / o.predicted_ms : 0.0);
    c.final = std::move(last);
    ++ended_;
    pump(lock);
  }

  void on_error(const server::SchedulerError& e) {
    std::unique_lock lock(mutex_);
    fail_locked(to_grpc_status(openai::to_api_error(e), context_));
    ++ended_;
    pump(lock);
  }

  // ---- gRPC's side ----

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    writing_ = false;
    if (!ok) {
      // The client is gone: stop generating; the scheduler's on_error(kCancelled) ends each choice.
      break_locked();
    }
    pump(lock);
  }

  void OnCancel() override {
    std::lock_guard lock(mutex_);
    break_locked();
  }

  void OnDone() override { delete this; }

 private:
  struct Choice {
    Chunk pending;                               // text (and reasoning, call pieces, tokens) not yet written
    std::optional<openai::ReplyParser> parser;   // Chat only
    std::vector<TokenLogprobs> tokens;           // heard, not yet attached to a chunk
    std::optional<Clock::time_point> first_text;
    std::optional<Chunk> final;                  // the choice ended: this chunk ends it
    bool final_written = false;
  };

  Choice& choice(int32_t i) { return choices_[static_cast<size_t>(i)]; }

  void attach_tokens(Choice& c, Chunk& chunk) {
    if (c.tokens.empty()) return;
    append_logprobs(c.tokens, *chunk.mutable_logprobs());
    c.tokens.clear();
  }

  void add_reply(Choice& c, const openai::ReplyDelta& delta) {
    if constexpr (std::is_same_v<Chunk, tandem::v1::ChatChunk>) {
      merge_reply(delta, c.pending);
      // The tokens go with text the HTTP API would send now; a piece held back sends nothing yet.
      if (!delta.content.empty() || !delta.reasoning.empty() || !delta.call_pieces.empty()) attach_tokens(c, c.pending);
    }
  }

  void cancel_all_locked() {
    for (const auto& token : cancels_) token->cancel();
  }
  void break_locked() {
    broken_ = true;
    for (Choice& c : choices_) c.pending.Clear();
    cancel_all_locked();
  }
  // The first error is the answer; the other choices stop.
  void fail_locked(grpc::Status status) {
    if (!status_) status_ = std::move(status);
    cancel_all_locked();
  }

  // The next chunk to write: a choice's pending text, round robin from the one after the last
  // written; else a final chunk. Null when there is none.
  Chunk* next_chunk(bool& is_final, int32_t& index) {
    const size_t n = choices_.size();
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (next_ + k) % n;
      if (!choices_[i].final && choices_[i].pending.ByteSizeLong() > 0) {
        next_ = (i + 1) % n;
        is_final = false;
        index = static_cast<int32_t>(i);
        return &choices_[i].pending;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (choices_[i].final && !choices_[i].final_written) {
        choices_[i].final_written = true;
        is_final = true;
        index = static_cast<int32_t>(i);
        return &*choices_[i].final;
      }
    }
    return nullptr;
  }

  bool all_finals_written() const {
    return std::all_of(choices_.begin(), choices_.end(), [](const Choice& c) { return c.final_written; });
  }

  // Starts the next write, or finishes. Unlocks before calling into gRPC.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finishing_) return;
    const bool all_ended = ended_ >= expected_;
    if (!broken_ && !status_) {
      bool is_final = false;
      int32_t index = 0;
      if (Chunk* next = next_chunk(is_final, index)) {
        chunk_ = std::move(*next);
        next->Clear();
        chunk_.set_id(id_);
        chunk_.set_model(model_);
        chunk_.set_index(index);
        if (is_final && all_ended && all_finals_written()) {
          finishing_ = true;
          lock.unlock();
          metrics_.record_response(route_, 200);
          this->StartWriteAndFinish(&chunk_, grpc::WriteOptions(), grpc::Status::OK);
          return;
        }
        writing_ = true;
        lock.unlock();
        this->StartWrite(&chunk_);
        return;
      }
    }
    if (!all_ended) return;
    if (broken_ && !status_) status_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
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
  std::string id_;
  std::string model_;
  std::string reply_prefix_;
  bool logprobs_ = false;

  std::mutex mutex_;
  Chunk chunk_;                      // the write in flight (gRPC reads it until OnWriteDone)
  std::vector<Choice> choices_{1};
  std::vector<std::shared_ptr<server::CancelToken>> cancels_;  // one per submitted choice
  int32_t expected_ = 1;             // choices whose last event is awaited
  int32_t ended_ = 0;                // choices whose last event came
  size_t next_ = 0;                  // where the round robin over pending chunks starts
  std::optional<grpc::Status> status_;  // a choice failed (or was refused): the call ends with this
  bool writing_ = false;
  bool finishing_ = false;
  bool broken_ = false;              // cancelled, or a write failed
};

template <class Chunk>
class StreamSink final : public server::GenerationSink {
 public:
  StreamSink(GenerationStream<Chunk>* stream, int32_t index) : stream_(stream), index_(index) {}
  void on_start(const server::StartInfo&) override { stream_->on_start(index_); }
  void on_token(const TokenLogprobs& token) override { stream_->on_token(index_, token); }
  bool on_text(std::string_view piece) override { return stream_->on_text(index_, piece); }
  void on_finish(const server::GenerationOutcome& o) override { stream_->on_finish(index_, o); }
  void on_error(const server::SchedulerError& e) override { stream_->on_error(e); }

 private:
  GenerationStream<Chunk>* stream_;  // lives until after the last event (see GenerationStream)
  int32_t index_;
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
  if (auto refused = openai::too_many_choices(scheduler_.status(), r.n)) {
    stream->refuse(*refused);
    return stream;
  }
  stream->set_choices(r.n, r.top_logprobs >= 0);
  if (chat) stream->set_reply(std::get<openai::PreparedGeneration>(prepared).reply, job.reply_prefix);
  stream->set_header(job.request_id, info.id);
  // n choices as the HTTP API runs them (multi_choice.h): each its own job, seed + i.
  for (int32_t i = 0; i < r.n; ++i) {
    server::GenerationJob choice = r.n > 1 ? openai::choice_job(job, i, r.n) : job;
    stream->add_cancel_token(choice.cancel);
    auto sink = std::make_shared<StreamSink<Chunk>>(stream, i);
    if (auto refused = scheduler_.submit(std::move(choice), sink)) {
      stream->abandon(i, openai::to_api_error(*refused));
      break;
    }
  }
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
