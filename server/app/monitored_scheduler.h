#pragma once
// The scheduler as the routes see it while monitoring runs: it forwards everything to the real
// scheduler, and adds the memory_high rule's unload (issue 13):
//   - unload_for_memory() stops admitting at once (503 with the reason and Retry-After), lets
//     requests in flight finish for up to the grace period (then cancels them), and unloads the
//     model, freeing weights and KV cache; /health and /v1/models say why;
//   - the next request reloads the model, but only if memory use with the model back stays under
//     the threshold; it waits for the load (with any others that come meanwhile) and runs.
//     Otherwise it gets the 503 again.
// An administrator's load or unload ends that state. Thread-safe, like Scheduler.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "scheduler/scheduler.h"

namespace tandem::server {

struct MemoryGuardOptions {
  std::string model_path;  // what the reload loads
  std::string model_id;
  std::chrono::milliseconds unload_grace{30000};
  int retry_after_seconds = 30;
  size_t max_waiting = 64;  // requests that wait for a reload; past it, 503
};

class MonitoredScheduler final : public Scheduler {
 public:
  // `fits(reason)` says whether memory use would stay under the threshold with the model loaded
  // again; when not, it fills `reason` ("memory would be 0.91 of total, over 0.85").
  MonitoredScheduler(Scheduler& inner, MemoryGuardOptions options, std::function<bool(std::string& reason)> fits);
  ~MonitoredScheduler() override;

  std::optional<SchedulerError> submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) override;
  SchedulerStatus status() const override;
  void load_model(std::string path, std::string id, std::function<void(Result<ModelInfo>)> done) override;
  void unload_model(std::function<void(Status)> done) override;
  bool set_batch_limit(int32_t limit) override { return inner_.set_batch_limit(limit); }
  void stop_accepting() override { inner_.stop_accepting(); }
  void cancel_all() override { inner_.cancel_all(); }
  void stop() override;

  // The memory_high action: returns what it did, for the alert history.
  std::string unload_for_memory(const std::string& why);

  // Why a request in flight was cut short: set when an unload's grace ends, before its token is
  // cancelled, so its "cancelled" becomes the unload's 503 (the client did not cancel it).
  struct CutBy {
    std::mutex mutex;
    std::string reason;     // set when the grace ends: the request's "cancelled" is the unload's
    std::string unloading;  // set when the unload starts: a queued request's "no model" is too
  };

 private:
  enum class Mode { kServing, kUnloading, kUnloaded, kReloading };
  struct Waiting {
    GenerationJob job;
    std::shared_ptr<GenerationSink> sink;
  };

  SchedulerError refusal_locked(const std::string& detail) const;
  void reloaded(Result<ModelInfo> loaded);
  void watch_grace(uint64_t generation);

  Scheduler& inner_;
  const MemoryGuardOptions options_;
  const std::function<bool(std::string&)> fits_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Mode mode_ = Mode::kServing;
  uint64_t generation_ = 0;  // changes with every unload, so a stale grace watcher does nothing
  std::string reason_;
  std::optional<ModelInfo> unloaded_model_;  // what the reload brings back
  std::vector<Waiting> waiting_;
  // What an unload's grace may have to cancel.
  struct InFlight {
    std::weak_ptr<CancelToken> token;
    std::shared_ptr<CutBy> cut_by;
  };
  std::shared_ptr<GenerationSink> track_locked(GenerationJob& job, std::shared_ptr<GenerationSink> sink);
  std::vector<InFlight> in_flight_;
  bool stopping_ = false;
  std::thread grace_thread_;
};

}  // namespace tandem::server
