#include "app/monitored_scheduler.h"

#include <algorithm>

#include "log/log.h"

namespace tandem::server {

namespace {

// Forwards to the request's sink; a generation the unload's grace cut short ends in a 503 that
// says so, not in "cancelled by the client".
class GraceSink final : public GenerationSink {
 public:
  GraceSink(std::shared_ptr<GenerationSink> sink, std::shared_ptr<MonitoredScheduler::CutBy> cut_by, int retry_after)
      : sink_(std::move(sink)), cut_by_(std::move(cut_by)), retry_after_(retry_after) {}
  void on_start(const StartInfo& info) override { sink_->on_start(info); }
  bool on_text(std::string_view piece) override { return sink_->on_text(piece); }
  void on_token(const TokenLogprobs& token) override { sink_->on_token(token); }
  void on_finish(const GenerationOutcome& outcome) override { sink_->on_finish(outcome); }
  void on_error(const SchedulerError& error) override {
    std::string reason, unloading;
    {
      std::lock_guard lock(cut_by_->mutex);
      reason = cut_by_->reason;
      unloading = cut_by_->unloading;
    }
    if (error.kind == ErrorKind::kCancelled && !reason.empty()) {
      return sink_->on_error(SchedulerError{ErrorKind::kUnavailable,
                                            "the generation was cut short: the model was " + reason +
                                                " and the grace period (monitoring.unload_grace_seconds) ended",
                                            "", "model_unloaded_low_memory", retry_after_});
    }
    if (error.kind == ErrorKind::kUnavailable && error.code == "model_not_loaded" && !unloading.empty()) {
      // Queued when the unload began: it never started.
      return sink_->on_error(SchedulerError{ErrorKind::kUnavailable,
                                            "the model was " + unloading + " before this request started; retry later",
                                            "", "model_unloaded_low_memory", retry_after_});
    }
    sink_->on_error(error);
  }

 private:
  std::shared_ptr<GenerationSink> sink_;
  std::shared_ptr<MonitoredScheduler::CutBy> cut_by_;
  int retry_after_;
};

}  // namespace

MonitoredScheduler::MonitoredScheduler(Scheduler& inner, MemoryGuardOptions options,
                                       std::function<bool(std::string&)> fits)
    : inner_(inner), options_(std::move(options)), fits_(std::move(fits)) {}

MonitoredScheduler::~MonitoredScheduler() { stop(); }

void MonitoredScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (grace_thread_.joinable()) grace_thread_.join();
  inner_.stop();
  std::vector<Waiting> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
  }
  for (auto& w : waiting) {
    w.sink->on_error(SchedulerError{ErrorKind::kUnavailable, "the server is shutting down; the request was not started",
                                    "", "shutting_down"});
  }
}

SchedulerError MonitoredScheduler::refusal_locked(const std::string& detail) const {
  return SchedulerError{ErrorKind::kUnavailable, "the model is unloaded: " + reason_ + (detail.empty() ? "" : "; " + detail) + "; retry later",
                        "", "model_unloaded_low_memory", options_.retry_after_seconds};
}

std::optional<SchedulerError> MonitoredScheduler::submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) {
  std::unique_lock lock(mutex_);
  switch (mode_) {
    case Mode::kServing: {
      sink = track_locked(job, std::move(sink));
      lock.unlock();
      return inner_.submit(std::move(job), std::move(sink));
    }
    case Mode::kUnloading: return refusal_locked("requests in flight are finishing");
    case Mode::kReloading:
      if (waiting_.size() >= options_.max_waiting) return refusal_locked("the model is being loaded again");
      waiting_.push_back({std::move(job), std::move(sink)});
      return std::nullopt;
    case Mode::kUnloaded: break;
  }
  std::string why;
  if (!fits_(why)) return refusal_locked(why);
  mode_ = Mode::kReloading;
  waiting_.push_back({std::move(job), std::move(sink)});
  lock.unlock();
  log::info("monitoring: memory allows the model again; reloading " + options_.model_path);
  inner_.load_model(options_.model_path, options_.model_id, [this](Result<ModelInfo> loaded) { reloaded(std::move(loaded)); });
  return std::nullopt;
}

// On the scheduler's thread, when the reload a request started is done: the waiting requests go
// to the model (or get the load's failure).
void MonitoredScheduler::reloaded(Result<ModelInfo> loaded) {
  std::vector<Waiting> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
    if (mode_ == Mode::kReloading) {
      if (loaded) {
        mode_ = Mode::kServing;
        reason_.clear();
      } else {
        mode_ = Mode::kUnloaded;
        reason_ = "reloading after a memory_high unload failed: " + loaded.error();
      }
    }
  }
  for (auto& w : waiting) {
    if (!loaded) {
      w.sink->on_error(SchedulerError{ErrorKind::kUnavailable, "the model could not be loaded again: " + loaded.error(),
                                      "", "model_not_loaded", options_.retry_after_seconds});
      continue;
    }
    std::shared_ptr<GenerationSink> sink;
    {
      std::lock_guard lock(mutex_);
      sink = track_locked(w.job, w.sink);
    }
    if (auto refused = inner_.submit(std::move(w.job), sink)) w.sink->on_error(*refused);
  }
}

std::string MonitoredScheduler::unload_for_memory(const std::string& why) {
  const SchedulerStatus s = inner_.status();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (mode_ != Mode::kServing) return "none: the model is already unloaded";
    if (s.state != ModelState::kReady) return "none: no model is loaded";
    if (stopping_) return "none: shutting down";
    mode_ = Mode::kUnloading;
    reason_ = "unloaded to free memory (" + why + ")";
    unloaded_model_ = s.model;
    generation = ++generation_;
    for (const auto& f : in_flight_) {
      std::lock_guard cut_lock(f.cut_by->mutex);
      f.cut_by->unloading = reason_;
    }
  }
  log::warn("monitoring: unloading the model: " + why + "; requests in flight get " +
            std::to_string(options_.unload_grace.count() / 1000.0) + " s");
  // The scheduler unloads once its running sequences are done; the grace watcher cancels those
  // still running when the grace period ends.
  inner_.unload_model([this, generation](Status done) {
    {
      std::lock_guard lock(mutex_);
      if (generation_ == generation && mode_ == Mode::kUnloading) mode_ = done ? Mode::kUnloaded : Mode::kServing;
    }
    wake_.notify_all();
    log::info(done ? "monitoring: model unloaded" : "monitoring: the unload failed: " + done.error());
  });
  if (grace_thread_.joinable()) grace_thread_.join();  // the previous one returned when its unload ended
  grace_thread_ = std::thread([this, generation] { watch_grace(generation); });
  return "unloading the model; " + std::to_string(s.running + s.queued) + " requests in flight get up to " +
         std::to_string(options_.unload_grace.count() / 1000) + " s";
}

void MonitoredScheduler::watch_grace(uint64_t generation) {
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + options_.unload_grace;
  const bool ended = wake_.wait_until(lock, deadline, [&] {
    return stopping_ || generation_ != generation || mode_ != Mode::kUnloading;
  });
  if (ended) return;
  std::vector<std::shared_ptr<CancelToken>> tokens;
  for (const auto& f : in_flight_) {
    if (auto t = f.token.lock()) {
      std::lock_guard cut_lock(f.cut_by->mutex);
      f.cut_by->reason = reason_;
      tokens.push_back(std::move(t));
    }
  }
  in_flight_.clear();
  lock.unlock();
  log::warn("monitoring: the unload grace period ended; cancelling " + std::to_string(tokens.size()) +
            " requests still in flight");
  for (auto& t : tokens) t->cancel();
}

// Remembers a request an unload's grace period may have to cut short (pruned as requests end).
std::shared_ptr<GenerationSink> MonitoredScheduler::track_locked(GenerationJob& job,
                                                                 std::shared_ptr<GenerationSink> sink) {
  std::erase_if(in_flight_, [](const InFlight& f) { return f.token.expired(); });
  auto cut_by = std::make_shared<CutBy>();
  in_flight_.push_back({job.cancel, cut_by});
  return std::make_shared<GraceSink>(std::move(sink), std::move(cut_by), options_.retry_after_seconds);
}

SchedulerStatus MonitoredScheduler::status() const {
  SchedulerStatus s = inner_.status();
  std::lock_guard lock(mutex_);
  if (mode_ == Mode::kUnloading || mode_ == Mode::kUnloaded) {
    // Say why, and that nothing is admitted meanwhile even if the model is still finishing.
    s.state = ModelState::kUnloaded;
    s.model.reset();
    s.reason = reason_ + "; the next request reloads it once memory allows";
  }
  if (mode_ != Mode::kServing) s.reloadable = unloaded_model_;  // requests come to submit()
  return s;
}

void MonitoredScheduler::load_model(std::string path, std::string id, std::function<void(Result<ModelInfo>)> done) {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    if (mode_ != Mode::kReloading) {
      mode_ = Mode::kServing;
      reason_.clear();
    }
  }
  wake_.notify_all();
  inner_.load_model(std::move(path), std::move(id), std::move(done));
}

void MonitoredScheduler::unload_model(std::function<void(Status)> done) {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    if (mode_ != Mode::kReloading) {
      mode_ = Mode::kServing;  // the administrator's unload: the scheduler's own reason applies
      reason_.clear();
    }
  }
  wake_.notify_all();
  inner_.unload_model(std::move(done));
}

}  // namespace tandem::server
