#pragma once
// Continuous batching on a dedicated thread: queued requests join the model's running sequences
// as soon as a sequence slot is free (model.max_batch_size of them), and every step advances all
// running sequences by one forward pass. The queue is bounded by server.max_concurrent_requests
// (running + queued; past it, 429 at once). Model loads and unloads wait for the running
// requests and go before queued ones.
//
// A request is prepared before it queues for a slot: a second thread renders its chat template,
// tokenizes it and makes the checks that need the model (context length, logit_bias ids), with
// the model's shared PromptPreparer. So a huge prompt or a flood of requests refused there costs
// the running sequences nothing, and the scheduler thread only places prepared requests in slots
// between two steps: all that were prepared when it looks, so prompts that arrive together share
// the next step.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "metrics/metrics.h"
#include "scheduler/model_backend.h"
#include "scheduler/scheduler.h"

namespace tandem::server {

struct BatchingSchedulerOptions {
  int64_t max_concurrent_requests = 64;
  int32_t default_max_tokens = 0;  // 0 = until the context is full
  int32_t max_tokens_limit = 0;    // largest max_tokens a request may ask for; 0 = the context size
  // 0 = none; counted from admission (a slot), past it a generation ends as "length".
  std::chrono::milliseconds generation_timeout{0};
  // 0 = none; a request that waited longer for a slot is refused with a 503 (code "queue_timeout").
  std::chrono::milliseconds queue_timeout{0};
};

class BatchingScheduler final : public Scheduler {
 public:
  BatchingScheduler(BatchingSchedulerOptions options, BackendLoader loader, metrics::ServerMetrics& metrics);
  ~BatchingScheduler() override;

  std::optional<SchedulerError> submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) override;
  SchedulerStatus status() const override;
  void load_model(std::string path, std::string id, std::function<void(Result<ModelInfo>)> done) override;
  void unload_model(std::function<void(Status)> done) override;
  bool set_batch_limit(int32_t limit) override;
  void stop_accepting() override;
  void cancel_all() override;
  void stop() override;

 private:
  struct Pending {
    GenerationJob job;
    std::shared_ptr<GenerationSink> sink;
    Clock::time_point submitted;
  };
  // A request whose prompt is tokenized and checked against the model of `model_generation`.
  struct Prepared {
    Pending pending;
    GenerationRequest request;
    uint64_t model_generation = 0;
  };
  // The loaded model as the preparation thread sees it (no preparer: none is loaded).
  struct PrepModel {
    std::shared_ptr<const PromptPreparer> preparer;
    int32_t n_ctx = 0;
    int32_t n_vocab = 0;
    uint64_t generation = 0;  // changes with every load and unload
  };
  struct Control {
    bool load = false;
    std::string path, id;
    std::function<void(Result<ModelInfo>)> loaded;
    std::function<void(Status)> unloaded;
  };

  class JobObserver;

  void run();
  void prepare_loop();
  std::variant<GenerationRequest, SchedulerError> prepare(const GenerationJob& job, const PrepModel& model) const;
  void admit(Prepared& prepared);
  void finish_running();
  void apply(Control& control);
  void publish_model_locked();
  void drain_queue(const std::string& why);
  bool expired(const Pending& p, Clock::time_point now) const;
  SchedulerError queue_timeout_error(const Pending& p, Clock::time_point now) const;
  void expire_queued();
  void publish_kv_use();  // the backend's KV cache use, for status() and the metrics
  int64_t queued_locked() const { return static_cast<int64_t>(queue_.size() + ready_.size()) + preparing_; }

  const BatchingSchedulerOptions options_;
  const BackendLoader loader_;
  metrics::ServerMetrics& metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;       // the scheduler thread
  std::condition_variable prep_wake_;  // the preparation thread
  std::deque<Pending> queue_;          // waiting for preparation
  std::deque<Prepared> ready_;         // prepared, waiting for a sequence slot
  int64_t preparing_ = 0;              // in the preparation thread's hands
  PrepModel prep_model_;
  std::deque<Control> control_;
  int64_t running_ = 0;  // sequences in the backend
  int32_t batch_limit_ = 0;  // set_batch_limit (monitoring's reduce_batch); 0 = every sequence slot
  bool accepting_ = true;
  bool cancel_all_ = false;
  bool stop_ = false;
  std::atomic<bool> shutting_down_{false};  // cancel_all() or stop(): cancelled sequences end in a 503
  std::atomic<Clock::rep> last_step_ns_{0};  // steady clock, when the last forward step ended
  std::atomic<int64_t> kv_cells_used_{0};
  std::atomic<int64_t> kv_cells_total_{0};
  ModelState state_ = ModelState::kUnloaded;
  std::string reason_ = "no model has been loaded yet";
  std::optional<ModelInfo> info_;
  std::vector<std::shared_ptr<CancelToken>> running_tokens_;

  std::unique_ptr<ModelBackend> backend_;  // the scheduler thread's alone
  std::thread thread_;
  std::thread prep_thread_;
};

}  // namespace tandem::server
