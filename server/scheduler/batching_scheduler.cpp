#include "scheduler/batching_scheduler.h"

#include <algorithm>
#include <ctime>

#include "log/log.h"

namespace tandem::server {
namespace {

SchedulerError invalid(std::string message, std::string param, std::string code = "") {
  return {ErrorKind::kInvalidRequest, std::move(message), std::move(param), std::move(code)};
}

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

}  // namespace

BatchingScheduler::BatchingScheduler(BatchingSchedulerOptions options, BackendLoader loader, metrics::ServerMetrics& metrics)
    : options_(options), loader_(std::move(loader)), metrics_(metrics) {
  thread_ = std::thread([this] { run(); });
  prep_thread_ = std::thread([this] { prepare_loop(); });
}

BatchingScheduler::~BatchingScheduler() { stop(); }

std::optional<SchedulerError> BatchingScheduler::submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) {
  std::lock_guard lock(mutex_);
  if (!accepting_ || stop_) {
    return SchedulerError{ErrorKind::kUnavailable, "the server is shutting down; retry on another instance", "",
                          "shutting_down"};
  }
  if (state_ == ModelState::kLoading) {
    return SchedulerError{ErrorKind::kUnavailable, "the model is loading; retry shortly", "", "model_loading", 5};
  }
  if (state_ != ModelState::kReady) {
    return SchedulerError{ErrorKind::kUnavailable, "no model is loaded (" + reason_ + ")", "", "model_not_loaded"};
  }
  const int64_t in_flight = queued_locked() + running_;
  if (in_flight >= options_.max_concurrent_requests) {
    metrics_.rejected_queue_full.add();
    return SchedulerError{ErrorKind::kQueueFull,
                          "the server is busy: " + std::to_string(in_flight) +
                              " requests are running or queued (server.max_concurrent_requests); retry later",
                          "", "rate_limit_exceeded", 1};
  }
  queue_.push_back(Pending{std::move(job), std::move(sink), Clock::now()});
  metrics_.queue_depth.set(queued_locked());
  prep_wake_.notify_one();
  return std::nullopt;
}

SchedulerStatus BatchingScheduler::status() const {
  std::lock_guard lock(mutex_);
  SchedulerStatus s;
  s.state = state_;
  s.reason = reason_;
  s.model = info_;
  s.queued = queued_locked();
  s.running = running_;
  s.accepting = accepting_ && !stop_;
  s.kv_cells_used = kv_cells_used_.load();
  s.kv_cells_total = kv_cells_total_.load();
  s.max_in_flight = options_.max_concurrent_requests;
  if (running_ > 0) {
    const Clock::time_point last{Clock::duration(last_step_ns_.load())};
    s.seconds_since_step = std::max(0.0, seconds_between(last, Clock::now()));
  }
  return s;
}

void BatchingScheduler::load_model(std::string path, std::string id, std::function<void(Result<ModelInfo>)> done) {
  std::lock_guard lock(mutex_);
  if (stop_) {
    if (done) done(make_error("the server is shutting down"));
    return;
  }
  state_ = ModelState::kLoading;
  reason_ = "loading " + path;
  info_.reset();
  metrics_.model_loaded.set(0);
  control_.push_back(Control{true, std::move(path), std::move(id), std::move(done), nullptr});
  wake_.notify_one();
}

void BatchingScheduler::unload_model(std::function<void(Status)> done) {
  std::lock_guard lock(mutex_);
  if (stop_) {
    if (done) done(make_error("the server is shutting down"));
    return;
  }
  control_.push_back(Control{false, "", "", nullptr, std::move(done)});
  wake_.notify_one();
}

bool BatchingScheduler::set_batch_limit(int32_t limit) {
  std::lock_guard lock(mutex_);
  batch_limit_ = std::max<int32_t>(0, limit);
  wake_.notify_one();  // a raised cap may admit waiting requests at once
  return true;
}

void BatchingScheduler::stop_accepting() {
  std::lock_guard lock(mutex_);
  accepting_ = false;
}

void BatchingScheduler::cancel_all() {
  std::lock_guard lock(mutex_);
  shutting_down_ = true;
  cancel_all_ = true;
  for (auto& token : running_tokens_) token->cancel();
  wake_.notify_one();
}

void BatchingScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
    shutting_down_ = true;
    accepting_ = false;
    for (auto& token : running_tokens_) token->cancel();
    wake_.notify_one();
    prep_wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  if (prep_thread_.joinable()) prep_thread_.join();
  // Whatever the preparation thread finished after the scheduler thread drained the queues.
  drain_queue("the server is shutting down; the request was not started");
}

void BatchingScheduler::drain_queue(const std::string& why) {
  std::deque<Pending> dropped;
  std::deque<Prepared> dropped_ready;
  {
    std::lock_guard lock(mutex_);
    dropped.swap(queue_);
    dropped_ready.swap(ready_);
    metrics_.queue_depth.set(queued_locked());
  }
  const SchedulerError error{ErrorKind::kUnavailable, why, "", "shutting_down"};
  for (auto& p : dropped) p.sink->on_error(error);
  for (auto& r : dropped_ready) r.pending.sink->on_error(error);
}

// The preparation thread: takes queued requests in order and turns each into a Prepared one (or
// its error), with the preparer of the model now loaded. It pauses while a model change waits,
// so that requests are prepared for the model they will run on.
void BatchingScheduler::prepare_loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    prep_wake_.wait(lock, [&] { return stop_ || (!queue_.empty() && control_.empty()); });
    if (stop_) return;
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    ++preparing_;
    const PrepModel model = prep_model_;
    const std::string reason = reason_;
    lock.unlock();

    std::variant<GenerationRequest, SchedulerError> outcome = SchedulerError{};
    const Clock::time_point now = Clock::now();
    if (p.job.cancel->cancelled()) {
      metrics_.cancelled.add();
      outcome = SchedulerError{ErrorKind::kCancelled, "cancelled before it started"};
    } else if (expired(p, now)) {
      outcome = queue_timeout_error(p, now);
    } else if (!model.preparer) {
      outcome = SchedulerError{ErrorKind::kUnavailable, "no model is loaded (" + reason + ")", "", "model_not_loaded"};
    } else {
      try {
        outcome = prepare(p.job, model);
      } catch (const std::exception& e) {
        log::error(std::string("preparing the prompt failed: ") + e.what(), p.job.request_id);
        outcome = SchedulerError{ErrorKind::kInternal, "preparing the prompt failed; see the server log"};
      }
    }

    lock.lock();
    --preparing_;
    if (auto* request = std::get_if<GenerationRequest>(&outcome); request && !shutting_down_) {
      ready_.push_back(Prepared{std::move(p), std::move(*request), model.generation});
      wake_.notify_one();
      continue;
    }
    metrics_.queue_depth.set(queued_locked());
    lock.unlock();
    if (auto* error = std::get_if<SchedulerError>(&outcome)) {
      p.sink->on_error(*error);
    } else {
      p.sink->on_error(SchedulerError{ErrorKind::kUnavailable, "the server is shutting down; the request was not started",
                                      "", "shutting_down"});
    }
    lock.lock();
  }
}

// Called on the scheduler thread with mutex_ held, at a model change (before anyone hears of it):
// the preparation thread
// uses the new model from now on, and prepared requests go back to be prepared for it.
void BatchingScheduler::publish_model_locked() {
  prep_model_.preparer = backend_ ? backend_->preparer() : nullptr;
  prep_model_.n_ctx = backend_ ? backend_->n_ctx() : 0;
  prep_model_.n_vocab = backend_ ? backend_->n_vocab() : 0;
  ++prep_model_.generation;
  while (!ready_.empty()) {
    queue_.push_front(std::move(ready_.back().pending));
    ready_.pop_back();
  }
  prep_wake_.notify_one();
}

bool BatchingScheduler::expired(const Pending& p, Clock::time_point now) const {
  return options_.queue_timeout.count() > 0 && now - p.submitted > options_.queue_timeout;
}

SchedulerError BatchingScheduler::queue_timeout_error(const Pending& p, Clock::time_point now) const {
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - p.submitted);
  const auto limit = std::chrono::duration<double>(options_.queue_timeout).count();
  return SchedulerError{ErrorKind::kUnavailable,
                        "the server is busy: the request waited " + std::to_string(waited.count() / 1000.0) +
                            " s for a free sequence slot, longer than timeouts.queue_seconds (" +
                            std::to_string(limit) + " s); retry later",
                        "", "queue_timeout", 2};
}

// Refuses the requests that have waited past timeouts.queue_seconds, queued or prepared, so that
// they hear at once rather than when a slot frees. Called on the scheduler thread, unlocked.
void BatchingScheduler::expire_queued() {
  if (options_.queue_timeout.count() <= 0) return;
  const Clock::time_point now = Clock::now();
  std::vector<Pending> timed_out;
  {
    std::lock_guard lock(mutex_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (expired(*it, now)) {
        timed_out.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = ready_.begin(); it != ready_.end();) {
      if (expired(it->pending, now)) {
        timed_out.push_back(std::move(it->pending));
        it = ready_.erase(it);
      } else {
        ++it;
      }
    }
    if (!timed_out.empty()) metrics_.queue_depth.set(queued_locked());
  }
  for (Pending& p : timed_out) p.sink->on_error(queue_timeout_error(p, now));
}

void BatchingScheduler::run() {
  while (true) {
    expire_queued();
    std::unique_lock lock(mutex_);
    const bool busy = backend_ && backend_->n_active() > 0;
    if (!busy) {
      const auto woken = [&] { return stop_ || cancel_all_ || !control_.empty() || !ready_.empty(); };
      if (options_.queue_timeout.count() > 0 && !queue_.empty()) {
        // Requests wait (a model change holds the preparation thread): look at their clocks again soon.
        wake_.wait_for(lock, std::chrono::milliseconds(100), woken);
      } else {
        wake_.wait(lock, woken);
      }
    }
    if (stop_ || cancel_all_) {
      const bool stopping = stop_;
      cancel_all_ = false;
      for (auto& token : running_tokens_) token->cancel();
      std::deque<Control> controls;
      if (stopping) controls.swap(control_);
      lock.unlock();
      drain_queue("the server is shutting down; the request was not started");
      for (auto& c : controls) {
        if (c.loaded) c.loaded(make_error("the server is shutting down"));
        if (c.unloaded) c.unloaded(make_error("the server is shutting down"));
      }
      if (stopping) {
        finish_running();
        break;
      }
      continue;  // the next step ends the cancelled sequences
    }
    if (!control_.empty()) {
      // A model change waits for the running sequences; nothing new is admitted meanwhile.
      if (!busy) {
        Control control = std::move(control_.front());
        control_.pop_front();
        lock.unlock();
        apply(control);
        continue;
      }
    } else {
      // Every prepared request that finds a free slot joins before the next step, so prompts that
      // arrive together are read together (the engine's per-step prompt-token budget,
      // model.prompt_batch_size, chunks them beside one token for each running sequence). Only
      // those prepared when this pass began are taken: however fast requests come, the running
      // sequences step between two passes (issue 10's starvation).
      for (size_t n = ready_.size(); n > 0 && !ready_.empty(); --n) {
        if (!backend_) {  // unloaded (publish_model_locked re-queued the prepared ones; a guard)
          publish_model_locked();
          break;
        }
        if (ready_.front().model_generation != prep_model_.generation) {
          // Prepared with the model a load just replaced: prepared again, for the new one.
          queue_.push_front(std::move(ready_.front().pending));
          ready_.pop_front();
          prep_wake_.notify_one();
          continue;
        }
        if (!backend_->has_free_slot()) break;
        if (batch_limit_ > 0 && running_ >= batch_limit_) break;  // reduce_batch: the running ones go on
        Prepared prepared = std::move(ready_.front());
        ready_.pop_front();
        metrics_.queue_depth.set(queued_locked());
        lock.unlock();
        // admit() may hand the request on to an observer: the error path keeps its own references.
        const std::shared_ptr<GenerationSink> sink = prepared.pending.sink;
        const std::string request_id = prepared.pending.job.request_id;
        try {
          admit(prepared);
        } catch (const std::exception& e) {
          log::error(std::string("generation failed: ") + e.what(), request_id);
          sink->on_error(SchedulerError{ErrorKind::kInternal, "generation failed; see the server log"});
        }
        lock.lock();
      }
    }
    lock.unlock();
    publish_kv_use();
    if (backend_ && backend_->n_active() > 0) {
      if (!busy) last_step_ns_ = Clock::now().time_since_epoch().count();  // the clock starts with the work
      try {
        backend_->step();
      } catch (const std::exception& e) {
        log::error(std::string("engine step failed: ") + e.what());
      }
      last_step_ns_ = Clock::now().time_since_epoch().count();
      publish_kv_use();
    }
  }
  backend_.reset();
  publish_kv_use();
  std::lock_guard lock(mutex_);
  state_ = ModelState::kUnloaded;
  reason_ = "the server is shutting down";
  info_.reset();
  metrics_.model_loaded.set(0);
}

void BatchingScheduler::publish_kv_use() {
  const auto [used, total] = backend_ ? backend_->kv_cells() : std::pair<int64_t, int64_t>{0, 0};
  kv_cells_used_ = used;
  kv_cells_total_ = total;
  metrics_.kv_cache_used_cells.set(used);
  metrics_.kv_cache_capacity_cells.set(total);
}

// At shutdown the running sequences were cancelled: one step ends each of them.
void BatchingScheduler::finish_running() {
  for (int i = 0; i < 1000 && backend_ && backend_->n_active() > 0; ++i) backend_->step();
}

void BatchingScheduler::apply(Control& control) {
  // Free the old model first: two models at once may not fit in memory. (The preparation thread
  // may hold the old PromptPreparer a moment longer: tokenizer and template, no weights.)
  backend_.reset();
  publish_kv_use();
  if (!control.load) {
    {
      std::lock_guard lock(mutex_);
      state_ = ModelState::kUnloaded;
      reason_ = "the model was unloaded (POST /admin/model/unload); load one with POST /admin/model/load";
      info_.reset();
      metrics_.model_loaded.set(0);
      publish_model_locked();
    }
    log::info("model unloaded");
    if (control.unloaded) control.unloaded(ok_status());
    return;
  }
  log::info("loading model " + control.path);
  const auto started = Clock::now();
  Result<std::unique_ptr<ModelBackend>> loaded = make_error("the model loader failed");
  try {
    loaded = loader_(control.path);
  } catch (const std::exception& e) {
    loaded = make_error(std::string("loading failed: ") + e.what());
  }
  if (!loaded) {
    {
      std::lock_guard lock(mutex_);
      // A newer load may already be queued; only the last one decides the state.
      if (control_.empty() || !control_.back().load) {
        state_ = ModelState::kUnloaded;
        reason_ = "loading " + control.path + " failed: " + loaded.error();
      }
      publish_model_locked();
    }
    log::error("cannot load " + control.path + ": " + loaded.error());
    if (control.loaded) control.loaded(Error{loaded.error()});
    return;
  }
  backend_ = std::move(loaded).value();
  publish_kv_use();
  ModelInfo info;
  info.id = control.id;
  info.path = control.path;
  info.n_ctx = backend_->n_ctx();
  info.n_vocab = backend_->n_vocab();
  info.created = static_cast<int64_t>(std::time(nullptr));
  info.chat_template = backend_->preparer()->chat_template_source();
  {
    std::lock_guard lock(mutex_);
    if (control_.empty()) {
      state_ = ModelState::kReady;
      reason_.clear();
      info_ = info;
      metrics_.model_loaded.set(1);
    }
    publish_model_locked();
  }
  log::info("model " + info.id + " ready (" + std::to_string(info.n_ctx) + " tokens of context) in " +
            std::to_string(seconds_between(started, Clock::now())) + " s");
  if (control.loaded) control.loaded(info);
}

// Streams one running sequence to its sink and keeps its metrics; lives in the backend until
// the sequence ends. Called on the scheduler thread only.
class BatchingScheduler::JobObserver : public SequenceObserver {
 public:
  JobObserver(BatchingScheduler& scheduler, Pending pending)
      : scheduler_(scheduler), p_(std::move(pending)), admitted_(Clock::now()), last_(admitted_) {}

  bool cancelled() const override {
    if (p_.job.cancel->cancelled()) return true;
    // The generation timeout counts from admission: time in the queue has its own limit.
    const auto timeout = scheduler_.options_.generation_timeout;
    if (timeout.count() > 0 && Clock::now() > admitted_ + timeout) timed_out_ = true;
    return timed_out_;
  }

  bool on_text(std::string_view piece) override {
    const auto now = Clock::now();
    if (first_) {
      scheduler_.metrics_.time_to_first_token.observe(seconds_between(p_.submitted, now));
      first_ = false;
      first_text_ = now;
    } else {
      scheduler_.metrics_.inter_token_latency.observe(seconds_between(last_, now));
    }
    last_ = now;
    if (cancelled()) return false;
    if (!p_.sink->on_text(piece)) {
      p_.job.cancel->cancel();
      return false;
    }
    return true;
  }

  void on_token(const TokenLogprobs& token) override { p_.sink->on_token(token); }

  void on_finish(const GenerationResult& result) override {
    GenerationOutcome outcome;
    outcome.n_prompt_tokens = result.n_prompt_tokens;
    outcome.n_completion_tokens = static_cast<int32_t>(result.tokens.size());
    outcome.finish_reason = std::string(finish_reason_name(result.finish));
    outcome.n_cached_tokens = result.n_reused_tokens;
    {
      const auto now = Clock::now();
      // No text at all (an immediate end-of-generation): the whole time was the prompt's.
      const Clock::time_point split = first_ ? now : first_text_;
      outcome.prompt_ms = seconds_between(admitted_, split) * 1000.0;
      outcome.predicted_ms = seconds_between(split, now) * 1000.0;
    }
    // "cancelled" is no OpenAI finish_reason: a generation the server's timeout ended reads as
    // "length"; one cancelled otherwise becomes an error, so no client takes cut text for a success.
    std::optional<SchedulerError> cancelled_by;
    if (result.finish == FinishReason::kCancelled) {
      if (timed_out_) {
        outcome.finish_reason = "length";
      } else {
        scheduler_.metrics_.cancelled.add();
        if (scheduler_.shutting_down_.load()) {
          cancelled_by = SchedulerError{ErrorKind::kUnavailable,
                                        "the server shut down before the generation finished "
                                        "(timeouts.shutdown_grace_seconds ran out); retry on another instance",
                                        "", "shutting_down"};
        } else {
          cancelled_by = SchedulerError{ErrorKind::kCancelled, "the generation was cancelled by the client"};
        }
      }
    }
    auto& metrics = scheduler_.metrics_;
    metrics.generated_tokens.add(static_cast<uint64_t>(outcome.n_completion_tokens));
    metrics.prompt_tokens_reused.add(static_cast<uint64_t>(result.n_reused_tokens));
    metrics.request_duration.observe(seconds_between(p_.submitted, Clock::now()));
    {
      std::lock_guard lock(scheduler_.mutex_);
      auto& tokens = scheduler_.running_tokens_;
      tokens.erase(std::remove(tokens.begin(), tokens.end(), p_.job.cancel), tokens.end());
      scheduler_.running_ = static_cast<int64_t>(tokens.size());
      metrics.running.set(scheduler_.running_);
    }
    if (cancelled_by) return p_.sink->on_error(*cancelled_by);
    p_.sink->on_finish(outcome);
  }

  const std::shared_ptr<CancelToken>& cancel_token() const { return p_.job.cancel; }

 private:
  BatchingScheduler& scheduler_;
  Pending p_;
  bool first_ = true;
  mutable bool timed_out_ = false;
  Clock::time_point admitted_;
  Clock::time_point last_;
  Clock::time_point first_text_;
};

// Checks a job against the model and tokenizes it; runs on the preparation thread.
std::variant<GenerationRequest, SchedulerError> BatchingScheduler::prepare(const GenerationJob& job,
                                                                            const PrepModel& model) const {
  GenerationRequest request;
  if (job.chat) {
    auto tokens = model.preparer->tokenize_chat(job.messages_json, job.template_vars_json, job.reply_prefix);
    if (!tokens) {
      return invalid("the messages could not be rendered by the model's chat template: " + tokens.error(), "messages");
    }
    request.prompt_tokens = std::move(tokens).value();
  } else {
    request.prompt_tokens = model.preparer->tokenize(job.prompt);
  }
  request.sampling = job.sampling;
  request.top_logprobs = job.top_logprobs;
  request.visible_control_tokens = job.visible_control_tokens;
  const int32_t n_ctx = model.n_ctx;
  const auto n_prompt = static_cast<int32_t>(request.prompt_tokens.size());
  const std::string prompt_param = job.chat ? "messages" : "prompt";
  if (n_prompt == 0) return invalid("the prompt is empty", prompt_param);
  if (n_prompt >= n_ctx) {
    return invalid("this model's maximum context length is " + std::to_string(n_ctx) + " tokens, but the prompt has " +
                       std::to_string(n_prompt) + " tokens; shorten the " + prompt_param,
                   prompt_param, "context_length_exceeded");
  }
  const int32_t limit = options_.max_tokens_limit > 0 ? std::min(options_.max_tokens_limit, n_ctx) : n_ctx;
  if (job.max_tokens && *job.max_tokens > limit) {
    return invalid("max_tokens is too large: " + std::to_string(*job.max_tokens) + "; this server allows at most " +
                       std::to_string(limit),
                   "max_tokens");
  }
  const int32_t room = n_ctx - n_prompt;
  const int32_t max_tokens =
      job.max_tokens ? *job.max_tokens : (options_.default_max_tokens > 0 ? options_.default_max_tokens : room);
  request.max_tokens = std::min(max_tokens, room);
  if (auto ok = validate(request.sampling); !ok) return invalid(ok.error(), "");
  if (auto ok = validate_logit_bias(request.sampling, model.n_vocab); !ok) return invalid(ok.error(), "logit_bias");
  return request;
}

void BatchingScheduler::admit(Prepared& prepared) {
  Pending& p = prepared.pending;
  const GenerationRequest& request = prepared.request;
  GenerationJob& job = p.job;
  if (job.cancel->cancelled()) {
    metrics_.cancelled.add();
    return p.sink->on_error(SchedulerError{ErrorKind::kCancelled, "cancelled before it started"});
  }
  if (shutting_down_) {
    return p.sink->on_error(SchedulerError{ErrorKind::kUnavailable,
                                           "the server is shutting down; the request was not started", "",
                                           "shutting_down"});
  }
  if (const Clock::time_point now = Clock::now(); expired(p, now)) return p.sink->on_error(queue_timeout_error(p, now));
  const auto n_prompt = static_cast<int32_t>(request.prompt_tokens.size());

  // The observer takes the pending request (and its sink) with it; keep a reference to the sink
  // for a begin() that refuses or throws (out of memory), so the request still gets its answer.
  const std::shared_ptr<GenerationSink> keep_sink = p.sink;
  const std::string request_id = job.request_id;
  auto observer = std::make_shared<JobObserver>(*this, std::move(p));
  Status begun = ok_status();
  try {
    begun = backend_->begin(request, observer);
  } catch (const std::exception& e) {
    log::error(std::string("the engine could not start the generation: ") + e.what(), request_id);
    return keep_sink->on_error(
        SchedulerError{ErrorKind::kInternal, "the engine could not start the generation; see the server log"});
  }
  // Checked above; a refusal here is the engine's own validation.
  if (!begun) return keep_sink->on_error(invalid(begun.error(), ""));

  // Counted only once the backend holds the sequence: its on_finish uncounts it.
  metrics_.prompt_tokens.add(static_cast<uint64_t>(n_prompt));
  {
    std::lock_guard lock(mutex_);
    running_tokens_.push_back(observer->cancel_token());
    running_ = static_cast<int64_t>(running_tokens_.size());
    metrics_.running.set(running_);
  }
  keep_sink->on_start(StartInfo{n_prompt});
}

}  // namespace tandem::server
