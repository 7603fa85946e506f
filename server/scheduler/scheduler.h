#pragma once
// The scheduler owns the model and decides which request runs when. HTTP and OpenAI code talk to
// it only through this interface, so a continuous-batching scheduler (many sequences per forward
// step) could replace another without touching them.
//
// A request is submitted with a sink; the sink then receives, from the scheduler's thread:
//   on_start once (the prompt was accepted), on_text for each piece of generated text (after
//   on_token for each token, when the job asked for logprobs),
//   and on_finish once; or on_error once instead of on_finish (before or after on_start: a
//   request refused while queued never starts; an engine failure, a client's cancellation
//   (kCancelled) or a shutdown that ran out of grace (kUnavailable) can follow the start).
// A request can be cancelled at any time through its CancelToken (a client that hung up).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sampling/sampling_params.h"
#include "tandem/engine.h"

namespace tandem::server {

using Clock = std::chrono::steady_clock;

class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct GenerationJob {
  std::string request_id;
  bool chat = false;           // true: messages_json through the chat template; false: prompt
  std::string prompt;          // raw completion prompt
  std::string messages_json;   // OpenAI messages array, already validated
  // Chat: further template variables (a JSON object: tools, chat_template_kwargs), and text the
  // reply starts with, appended to the rendered prompt for the model to continue.
  std::string template_vars_json = "{}";
  std::string reply_prefix;
  SamplingParams sampling;
  std::optional<int32_t> max_tokens;  // nullopt: server.default_max_tokens or until the context is full
  int32_t top_logprobs = -1;  // -1: no logprobs; else the alternatives per token (sink's on_token)
  // Control tokens, by vocabulary text, whose text the reply shows (GenerationRequest's field): the
  // tool-call format's markers, for the reply parser. Empty: control tokens give no text.
  std::vector<std::string> visible_control_tokens;
  std::shared_ptr<CancelToken> cancel = std::make_shared<CancelToken>();
};

enum class ErrorKind {
  kInvalidRequest,  // the client must change the request (400)
  kQueueFull,       // too many requests; retry later (429)
  kUnavailable,     // no model, or shutting down (503)
  kInternal,        // the engine failed (500)
  kCancelled,       // the client cancelled (hung up); nobody is listening
};

struct SchedulerError {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  std::string param;  // the request field at fault, if any
  std::string code;   // "context_length_exceeded", "model_not_loaded", ...
  int retry_after_seconds = 0;
};

struct StartInfo {
  int32_t n_prompt_tokens = 0;
};

struct GenerationOutcome {
  std::string finish_reason;  // "stop" or "length" (a cancelled generation ends in on_error instead)
  int32_t n_prompt_tokens = 0;
  int32_t n_completion_tokens = 0;
  // For llama.cpp's "timings": prompt tokens whose KV was reused, and the milliseconds from the
  // sequence's admission to its first text (the prompt's forward passes) and from there to the end.
  int32_t n_cached_tokens = 0;
  double prompt_ms = 0;
  double predicted_ms = 0;
};

class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  virtual void on_start(const StartInfo& info) = 0;
  // Returning false cancels the generation (like CancelToken::cancel).
  virtual bool on_text(std::string_view piece) = 0;
  // Each generated token's log-probabilities, before its text, for jobs with top_logprobs >= 0.
  virtual void on_token(const TokenLogprobs& token) { (void)token; }
  virtual void on_finish(const GenerationOutcome& outcome) = 0;
  virtual void on_error(const SchedulerError& error) = 0;
};

enum class ModelState { kUnloaded, kLoading, kReady };

struct ModelInfo {
  std::string id;    // what clients send as "model"
  std::string path;
  int32_t n_ctx = 0;
  int32_t n_vocab = 0;
  int64_t created = 0;  // Unix time of the load
  std::string chat_template;  // the Jinja source chat requests render through ("" when none)
};

struct SchedulerStatus {
  ModelState state = ModelState::kUnloaded;
  std::string reason;               // why not ready: "loading ...", "unloaded by an administrator", ...
  std::optional<ModelInfo> model;   // when ready
  int64_t queued = 0;
  int64_t running = 0;
  bool accepting = true;            // false once shutdown has begun
  // With sequences running: seconds since the last forward step ended (0 otherwise). Steps take
  // milliseconds; a large value means the scheduler is stuck and the streams are frozen.
  double seconds_since_step = 0;
  // Not ready, but a request may still be submitted for this model: monitoring unloaded it for
  // lack of memory and the next request reloads it (or is refused with the reason and Retry-After).
  std::optional<ModelInfo> reloadable;
  // KV cache positions ("cells") held by running sequences, of all the loaded model's sequence
  // slots have (model.max_batch_size * context); both 0 without a model. Updated every step.
  int64_t kv_cells_used = 0;
  int64_t kv_cells_total = 0;
  // server.max_concurrent_requests: requests running or queued at once (0 = unknown); a request
  // for n choices takes n of them.
  int64_t max_in_flight = 0;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Queues a request, or refuses it at once (queue full, no model, shutting down) without
  // calling the sink. On success the sink gets its events later.
  virtual std::optional<SchedulerError> submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) = 0;

  virtual SchedulerStatus status() const = 0;

  // Model changes run between requests; `done` is called from the scheduler's thread.
  virtual void load_model(std::string path, std::string id, std::function<void(Result<ModelInfo>)> done) = 0;
  virtual void unload_model(std::function<void(Status)> done) = 0;

  // Caps the sequences decoded together below model.max_batch_size (0 = lift the cap), for the
  // reduce_batch monitoring action: running sequences above the cap finish, and no new one joins
  // until the batch is under it. Returns false where the scheduler has no such control.
  virtual bool set_batch_limit(int32_t limit) {
    (void)limit;
    return false;
  }

  // Shutdown, step one: refuse new requests; queued and running ones go on.
  virtual void stop_accepting() = 0;
  // Step two: cancel whatever is still queued or running (their sinks are told).
  virtual void cancel_all() = 0;
  // Step three: stop the thread and release the model. Safe to call twice.
  virtual void stop() = 0;
};

}  // namespace tandem::server
