#include "scheduler/batching_scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

namespace tandem::server {
namespace {

using namespace std::chrono_literals;

// A model stand-in: one token per prompt byte, generates "t" per token; a gate can hold the
// first token of every generation until the test opens it.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = true;
  int waiting = 0;
  void close() {
    std::lock_guard lock(mutex);
    open = false;
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
  void pass() {
    std::unique_lock lock(mutex);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    --waiting;
  }
  bool wait_for_waiter() {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, 5s, [&] { return waiting > 0; });
  }
};

// How many sequences began before each forward step (the scheduler's admissions per step).
struct StepLog {
  std::mutex mutex;
  std::vector<int> admitted;
  std::vector<int> copy() {
    std::lock_guard lock(mutex);
    return admitted;
  }
};

// One token per byte; chat renders as "<chat>" + the messages. A prompt starting with "slow"
// waits at the preparation gate (a multi-megabyte prompt's tokenization, in miniature).
class FakePreparer : public PromptPreparer {
 public:
  explicit FakePreparer(Gate* prep_gate) : prep_gate_(prep_gate) {}
  std::vector<int32_t> tokenize(std::string_view prompt) const override {
    if (prep_gate_ && prompt.starts_with("slow")) prep_gate_->pass();
    return std::vector<int32_t>(prompt.size(), 1);
  }
  Result<std::vector<int32_t>> tokenize_chat(const std::string& messages_json, const std::string&,
                                             std::string_view) const override {
    if (messages_json.find("unrenderable") != std::string::npos) return make_error("template failed");
    return tokenize("<chat>" + messages_json);
  }

 private:
  Gate* prep_gate_;
};

// Generates "t" per token, one token per step for each running sequence; `slots` sequences at once.
class FakeBackend : public ModelBackend {
 public:
  FakeBackend(Gate& gate, bool throw_on_begin, Gate* prep_gate, int32_t slots, std::chrono::milliseconds step_time,
              StepLog* step_log = nullptr)
      : gate_(gate),
        throw_on_begin_(throw_on_begin),
        preparer_(std::make_shared<FakePreparer>(prep_gate)),
        slots_(slots),
        step_time_(step_time),
        step_log_(step_log) {}
  int32_t n_ctx() const override { return 64; }
  int32_t n_vocab() const override { return 100; }
  std::shared_ptr<const PromptPreparer> preparer() const override { return preparer_; }
  bool has_free_slot() const override { return static_cast<int32_t>(running_.size()) < slots_; }
  int32_t n_active() const override { return static_cast<int32_t>(running_.size()); }
  Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) override {
    if (throw_on_begin_) throw std::bad_alloc();  // as the KV cache or a buffer can when memory runs out
    Sequence seq{request, std::move(observer), {}};
    seq.result.n_prompt_tokens = static_cast<int32_t>(request.prompt_tokens.size());
    seq.result.finish = FinishReason::kLength;
    running_.push_back(std::move(seq));
    ++begun_;
    return ok_status();
  }
  void step() override {
    if (step_log_) {
      std::lock_guard lock(step_log_->mutex);
      step_log_->admitted.push_back(begun_);
    }
    begun_ = 0;
    std::this_thread::sleep_for(step_time_);
    std::vector<Sequence> finished;
    for (auto it = running_.begin(); it != running_.end();) {
      Sequence& seq = *it;
      if (seq.result.tokens.empty()) gate_.pass();
      bool done = false;
      if (seq.observer->cancelled()) {
        seq.result.finish = FinishReason::kCancelled;
        done = true;
      } else {
        seq.result.tokens.push_back(7);
        seq.result.text += "t";
        if (!seq.observer->on_text("t")) {
          seq.result.finish = FinishReason::kCancelled;
          done = true;
        }
        if (static_cast<int32_t>(seq.result.tokens.size()) >= seq.request.max_tokens) done = true;
      }
      if (done) {
        finished.push_back(std::move(seq));
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
    for (Sequence& seq : finished) seq.observer->on_finish(seq.result);
  }

 private:
  struct Sequence {
    GenerationRequest request;
    std::shared_ptr<SequenceObserver> observer;
    GenerationResult result;
  };
  Gate& gate_;
  bool throw_on_begin_;
  std::shared_ptr<const PromptPreparer> preparer_;
  int32_t slots_;
  std::chrono::milliseconds step_time_;
  StepLog* step_log_;
  int begun_ = 0;  // since the last step
  std::vector<Sequence> running_;
};

class RecordingSink : public GenerationSink {
 public:
  void on_start(const StartInfo& info) override {
    std::lock_guard lock(mutex_);
    n_prompt = info.n_prompt_tokens;
    started = true;
  }
  bool on_text(std::string_view piece) override {
    std::lock_guard lock(mutex_);
    text += piece;
    return keep_going;
  }
  void on_finish(const GenerationOutcome& o) override {
    std::lock_guard lock(mutex_);
    outcome = o;
    done = true;
    cv_.notify_all();
  }
  void on_error(const SchedulerError& e) override {
    std::lock_guard lock(mutex_);
    error = e;
    done = true;
    cv_.notify_all();
  }
  size_t text_size() {
    std::lock_guard lock(mutex_);
    return text.size();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 10s, [&] { return done; });
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  bool started = false, done = false, keep_going = true;
  int32_t n_prompt = 0;
  std::string text;
  std::optional<GenerationOutcome> outcome;
  std::optional<SchedulerError> error;
};

class SchedulerTest : public ::testing::Test {
 protected:
  std::unique_ptr<BatchingScheduler> make(BatchingSchedulerOptions options = {}) {
    BackendLoader loader = [this](const std::string& path) -> Result<std::unique_ptr<ModelBackend>> {
      if (path == "/bad") return make_error("not a model");
      return std::unique_ptr<ModelBackend>(
          std::make_unique<FakeBackend>(gate_, throw_on_begin_, &prep_gate_, slots_, step_time_, &step_log_));
    };
    return std::make_unique<BatchingScheduler>(options, loader, metrics_);
  }
  void load(BatchingScheduler& s) {
    std::promise<bool> loaded;
    s.load_model("/m.gguf", "m", [&](Result<ModelInfo> r) { loaded.set_value(r.ok()); });
    ASSERT_TRUE(loaded.get_future().get());
  }
  static GenerationJob job(std::string prompt, std::optional<int32_t> max_tokens = 3) {
    GenerationJob j;
    j.prompt = std::move(prompt);
    j.max_tokens = max_tokens;
    return j;
  }

  Gate gate_;
  Gate prep_gate_;
  bool throw_on_begin_ = false;
  int32_t slots_ = 1;
  std::chrono::milliseconds step_time_{2};
  StepLog step_log_;
  metrics::ServerMetrics metrics_;
};

TEST_F(SchedulerTest, RefusesBeforeAModelIsLoaded) {
  auto s = make();
  auto refused = s->submit(job("hi"), std::make_shared<RecordingSink>());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, ErrorKind::kUnavailable);
  EXPECT_EQ(refused->code, "model_not_loaded");
  EXPECT_EQ(s->status().state, ModelState::kUnloaded);
}

TEST_F(SchedulerTest, GeneratesAndCounts) {
  auto s = make();
  load(*s);
  EXPECT_EQ(s->status().state, ModelState::kReady);
  EXPECT_EQ(s->status().model->id, "m");
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("hello"), sink));
  ASSERT_TRUE(sink->wait());
  EXPECT_EQ(sink->n_prompt, 5);
  EXPECT_EQ(sink->text, "ttt");
  ASSERT_TRUE(sink->outcome);
  EXPECT_EQ(sink->outcome->finish_reason, "length");
  EXPECT_EQ(sink->outcome->n_completion_tokens, 3);
  EXPECT_EQ(metrics_.prompt_tokens.value(), 5u);
  EXPECT_EQ(metrics_.generated_tokens.value(), 3u);
  EXPECT_EQ(metrics_.time_to_first_token.snapshot().count, 1u);
}

TEST_F(SchedulerTest, ChatGoesThroughTheTemplate) {
  auto s = make();
  load(*s);
  auto sink = std::make_shared<RecordingSink>();
  GenerationJob j = job("");
  j.chat = true;
  j.messages_json = R"([{"role":"user","content":"x"}])";
  ASSERT_FALSE(s->submit(std::move(j), sink));
  ASSERT_TRUE(sink->wait());
  EXPECT_EQ(sink->n_prompt, static_cast<int32_t>(std::string("<chat>[{\"role\":\"user\",\"content\":\"x\"}]").size()));

  auto bad = std::make_shared<RecordingSink>();
  GenerationJob b = job("");
  b.chat = true;
  b.messages_json = "unrenderable";
  ASSERT_FALSE(s->submit(std::move(b), bad));
  ASSERT_TRUE(bad->wait());
  ASSERT_TRUE(bad->error);
  EXPECT_EQ(bad->error->param, "messages");
}

TEST_F(SchedulerTest, PromptPastTheContextAndHugeMaxTokens) {
  auto s = make();
  load(*s);
  auto long_prompt = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job(std::string(64, 'x')), long_prompt));
  ASSERT_TRUE(long_prompt->wait());
  ASSERT_TRUE(long_prompt->error);
  EXPECT_EQ(long_prompt->error->kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(long_prompt->error->code, "context_length_exceeded");
  EXPECT_FALSE(long_prompt->started);

  auto huge = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("x", 1000), huge));
  ASSERT_TRUE(huge->wait());
  ASSERT_TRUE(huge->error);
  EXPECT_EQ(huge->error->param, "max_tokens");

  // No max_tokens: until the context is full (64 - 4 prompt tokens).
  auto open = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("abcd", std::nullopt), open));
  ASSERT_TRUE(open->wait());
  EXPECT_EQ(open->outcome->n_completion_tokens, 60);

  auto bias = std::make_shared<RecordingSink>();
  GenerationJob j = job("x");
  j.sampling.logit_bias = {{500, 1.0f}};
  ASSERT_FALSE(s->submit(std::move(j), bias));
  ASSERT_TRUE(bias->wait());
  ASSERT_TRUE(bias->error);
  EXPECT_EQ(bias->error->param, "logit_bias");
}

TEST_F(SchedulerTest, QueueBoundGives429AtOnce) {
  BatchingSchedulerOptions options;
  options.max_concurrent_requests = 2;
  auto s = make(options);
  load(*s);
  gate_.close();
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a"), a));
  ASSERT_TRUE(gate_.wait_for_waiter());  // a is running
  ASSERT_FALSE(s->submit(job("b"), b));
  EXPECT_EQ(s->status().queued, 1);
  EXPECT_EQ(s->status().running, 1);
  auto refused = s->submit(job("c"), std::make_shared<RecordingSink>());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, ErrorKind::kQueueFull);
  EXPECT_GE(refused->retry_after_seconds, 1);
  EXPECT_EQ(metrics_.rejected_queue_full.value(), 1u);
  gate_.release();
  ASSERT_TRUE(a->wait());
  ASSERT_TRUE(b->wait());
  EXPECT_EQ(b->text, "ttt");
}

TEST_F(SchedulerTest, CancellingRunningAndQueuedRequests) {
  auto s = make();
  load(*s);
  gate_.close();
  auto running = std::make_shared<RecordingSink>();
  auto queued = std::make_shared<RecordingSink>();
  GenerationJob r = job("a", 50);
  auto running_token = r.cancel;
  GenerationJob q = job("b");
  auto queued_token = q.cancel;
  ASSERT_FALSE(s->submit(std::move(r), running));
  ASSERT_TRUE(gate_.wait_for_waiter());
  ASSERT_FALSE(s->submit(std::move(q), queued));
  queued_token->cancel();
  running_token->cancel();
  gate_.release();
  ASSERT_TRUE(running->wait());
  ASSERT_TRUE(running->error) << "\"cancelled\" is no finish_reason: a cancelled generation ends in an error";
  EXPECT_EQ(running->error->kind, ErrorKind::kCancelled);
  EXPECT_LT(running->text.size(), 50u);
  ASSERT_TRUE(queued->wait());
  ASSERT_TRUE(queued->error);
  EXPECT_EQ(queued->error->kind, ErrorKind::kCancelled);
  EXPECT_EQ(metrics_.cancelled.value(), 2u);
}

TEST_F(SchedulerTest, SinkThatStopsListeningCancels) {
  auto s = make();
  load(*s);
  auto sink = std::make_shared<RecordingSink>();
  sink->keep_going = false;
  ASSERT_FALSE(s->submit(job("a", 20), sink));
  ASSERT_TRUE(sink->wait());
  ASSERT_TRUE(sink->error);
  EXPECT_EQ(sink->error->kind, ErrorKind::kCancelled);
  EXPECT_EQ(sink->text, "t");
}

TEST_F(SchedulerTest, GenerationTimeoutEndsAsLength) {
  BatchingSchedulerOptions options;
  options.generation_timeout = 20ms;
  auto s = make(options);
  load(*s);
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a", 60), sink));
  ASSERT_TRUE(sink->wait());
  EXPECT_EQ(sink->outcome->finish_reason, "length");
  EXPECT_LT(sink->outcome->n_completion_tokens, 60);
}

// Tokenizing a huge prompt happens beside the running sequences, not instead of them: while a
// request is stuck in preparation, a running one keeps stepping to its end.
TEST_F(SchedulerTest, SlowPreparationDoesNotStopRunningSequences) {
  slots_ = 2;
  step_time_ = 10ms;
  auto s = make();
  load(*s);
  auto running = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a", 60), running));
  for (int i = 0; i < 500 && running->text_size() == 0; ++i) std::this_thread::sleep_for(2ms);  // generating
  prep_gate_.close();
  auto slow = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("slow prompt", 3), slow));
  ASSERT_TRUE(prep_gate_.wait_for_waiter());  // being prepared
  const bool finished = running->wait();
  prep_gate_.release();
  ASSERT_TRUE(finished) << "a request in preparation froze the running sequence";
  EXPECT_EQ(running->text, std::string(60, 't'));
  ASSERT_TRUE(slow->wait());
  EXPECT_EQ(slow->text, "ttt");
}

// Prompts that arrive together start in the same step (the engine's prompt-token budget chunks
// them), where at most four used to join per step and later arrivals waited steps for their first
// token. Eight short requests are prepared while a running sequence's step is held; the next step
// has all eight beside it. (Preparation is in order: the ninth, held in preparation, fences them.)
TEST_F(SchedulerTest, PromptsThatArriveTogetherStartInOneStep) {
  slots_ = 16;
  auto s = make();
  load(*s);
  gate_.close();
  auto running = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a", 20), running));
  ASSERT_TRUE(gate_.wait_for_waiter());  // its first step is held
  prep_gate_.close();
  std::vector<std::shared_ptr<RecordingSink>> arrivals;
  for (int i = 0; i < 8; ++i) {
    arrivals.push_back(std::make_shared<RecordingSink>());
    ASSERT_FALSE(s->submit(job("short " + std::to_string(i), 3), arrivals.back()));
  }
  auto fence = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("slow fence", 3), fence));
  ASSERT_TRUE(prep_gate_.wait_for_waiter());  // the eight are prepared
  gate_.release();
  for (auto& sink : arrivals) {
    ASSERT_TRUE(sink->wait());
    EXPECT_EQ(sink->text, "ttt");
  }
  prep_gate_.release();
  ASSERT_TRUE(fence->wait());
  ASSERT_TRUE(running->wait());
  EXPECT_EQ(running->text, std::string(20, 't'));  // it stepped on beside them
  const std::vector<int> admitted = step_log_.copy();
  ASSERT_GE(admitted.size(), 2u);
  EXPECT_EQ(admitted[0], 1);
  EXPECT_EQ(admitted[1], 8) << "the eight prepared requests did not all join the step after they arrived";
}

// Requests refused in preparation (prompt past the context) are answered, and the queue and the
// running count go back to zero.
TEST_F(SchedulerTest, RefusalsInPreparationLeaveNothingQueued) {
  auto s = make();
  load(*s);
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  for (int i = 0; i < 20; ++i) {
    sinks.push_back(std::make_shared<RecordingSink>());
    ASSERT_FALSE(s->submit(job(std::string(100, 'x')), sinks.back()));
  }
  for (auto& sink : sinks) {
    ASSERT_TRUE(sink->wait());
    ASSERT_TRUE(sink->error);
    EXPECT_EQ(sink->error->code, "context_length_exceeded");
  }
  EXPECT_EQ(s->status().queued, 0);
  EXPECT_EQ(s->status().running, 0);
  EXPECT_EQ(metrics_.queue_depth.value(), 0);
}

// begin() failing by exception (out of memory) must reach the request's sink as an error and
// leave nothing counted as running.
TEST_F(SchedulerTest, BeginThatThrowsFailsTheRequestAndLeaksNothing) {
  throw_on_begin_ = true;
  auto s = make();
  load(*s);
  for (int i = 0; i < 3; ++i) {
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_FALSE(s->submit(job("abc"), sink));
    ASSERT_TRUE(sink->wait());
    ASSERT_TRUE(sink->error);
    EXPECT_EQ(sink->error->kind, ErrorKind::kInternal);
    EXPECT_FALSE(sink->started);
  }
  EXPECT_EQ(s->status().running, 0);
  EXPECT_EQ(s->status().queued, 0);
  EXPECT_EQ(metrics_.running.value(), 0);
}

// A request that cannot get a slot in time hears so at once, as a 503 with Retry-After, instead
// of running later with no time left.
TEST_F(SchedulerTest, QueueTimeoutGives503WhileTheSlotIsBusy) {
  BatchingSchedulerOptions options;
  options.queue_timeout = 100ms;
  step_time_ = 10ms;
  auto s = make(options);
  load(*s);
  auto running = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a", 60), running));  // about 600 ms in the only slot
  auto waiting = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("b"), waiting));
  ASSERT_TRUE(waiting->wait());
  {
    std::lock_guard lock(running->mutex_);
    EXPECT_FALSE(running->done) << "the refusal came only when the slot freed";
  }
  ASSERT_TRUE(waiting->error);
  EXPECT_EQ(waiting->error->kind, ErrorKind::kUnavailable);
  EXPECT_EQ(waiting->error->code, "queue_timeout");
  EXPECT_GE(waiting->error->retry_after_seconds, 1);
  EXPECT_NE(waiting->error->message.find("timeouts.queue_seconds"), std::string::npos);
  EXPECT_FALSE(waiting->started);
  ASSERT_TRUE(running->wait());
  EXPECT_EQ(running->outcome->finish_reason, "length");
  EXPECT_EQ(running->text.size(), 60u);
  EXPECT_EQ(s->status().queued, 0);
}

// generation_timeout counts from admission: a request that waited in the queue still gets its
// whole generation time (it used to start with the time spent waiting already gone, and end at
// once with no text and finish_reason "length").
TEST_F(SchedulerTest, GenerationTimeoutCountsFromAdmission) {
  BatchingSchedulerOptions options;
  options.generation_timeout = 300ms;
  step_time_ = 10ms;
  auto s = make(options);
  load(*s);
  auto first = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a", 60), first));  // cut at about 300 ms
  auto second = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("b", 3), second));  // waits about 300 ms, then needs about 30
  ASSERT_TRUE(first->wait());
  ASSERT_TRUE(second->wait());
  ASSERT_TRUE(second->outcome) << second->error->message;
  EXPECT_EQ(second->text, "ttt");
  EXPECT_EQ(second->outcome->n_completion_tokens, 3);
}

// A scheduler stuck inside a step shows in its status (for /health), which used to say ok while
// every stream stood still.
TEST_F(SchedulerTest, StatusShowsHowLongSinceTheLastStep) {
  auto s = make();
  load(*s);
  EXPECT_EQ(s->status().seconds_since_step, 0.0);
  gate_.close();
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a"), sink));
  ASSERT_TRUE(gate_.wait_for_waiter());  // the step is stuck
  std::this_thread::sleep_for(300ms);
  EXPECT_GE(s->status().seconds_since_step, 0.25);
  gate_.release();
  ASSERT_TRUE(sink->wait());
  EXPECT_EQ(s->status().seconds_since_step, 0.0);  // nothing runs
}

TEST_F(SchedulerTest, UnloadAndReload) {
  auto s = make();
  load(*s);
  std::promise<bool> unloaded;
  s->unload_model([&](Status st) { unloaded.set_value(st.ok()); });
  ASSERT_TRUE(unloaded.get_future().get());
  EXPECT_EQ(s->status().state, ModelState::kUnloaded);
  EXPECT_NE(s->status().reason.find("unloaded"), std::string::npos);
  auto refused = s->submit(job("a"), std::make_shared<RecordingSink>());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, ErrorKind::kUnavailable);
  EXPECT_EQ(metrics_.model_loaded.value(), 0);

  std::promise<std::string> failed;
  s->load_model("/bad", "x", [&](Result<ModelInfo> r) { failed.set_value(r.ok() ? "" : r.error()); });
  EXPECT_EQ(failed.get_future().get(), "not a model");
  EXPECT_NE(s->status().reason.find("not a model"), std::string::npos);

  load(*s);
  EXPECT_EQ(s->status().state, ModelState::kReady);
  EXPECT_EQ(metrics_.model_loaded.value(), 1);
}

TEST_F(SchedulerTest, ShutdownRefusesNewWorkAndTellsQueuedRequests) {
  auto s = make();
  load(*s);
  gate_.close();
  auto running = std::make_shared<RecordingSink>();
  auto queued = std::make_shared<RecordingSink>();
  ASSERT_FALSE(s->submit(job("a", 10), running));
  ASSERT_TRUE(gate_.wait_for_waiter());
  ASSERT_FALSE(s->submit(job("b"), queued));
  s->stop_accepting();
  auto refused = s->submit(job("c"), std::make_shared<RecordingSink>());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, "shutting_down");
  EXPECT_FALSE(s->status().accepting);
  s->cancel_all();
  gate_.release();
  ASSERT_TRUE(running->wait());
  // Cut short by the shutdown: an error (503), never a success with part of the text.
  EXPECT_FALSE(running->outcome);
  ASSERT_TRUE(running->error);
  EXPECT_EQ(running->error->kind, ErrorKind::kUnavailable);
  EXPECT_EQ(running->error->code, "shutting_down");
  ASSERT_TRUE(queued->wait());
  ASSERT_TRUE(queued->error);
  EXPECT_EQ(queued->error->code, "shutting_down");
  s->stop();
  s->stop();  // twice is fine
}

}  // namespace
}  // namespace tandem::server
