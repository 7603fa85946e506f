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

class FakeBackend : public ModelBackend {
 public:
  explicit FakeBackend(Gate& gate, bool throw_on_begin = false) : gate_(gate), throw_on_begin_(throw_on_begin) {}
  int32_t n_ctx() const override { return 64; }
  int32_t n_vocab() const override { return 100; }
  std::vector<int32_t> tokenize(std::string_view prompt) const override {
    return std::vector<int32_t>(prompt.size(), 1);
  }
  Result<std::string> render_chat(const std::string& messages_json) const override {
    if (messages_json.find("unrenderable") != std::string::npos) return make_error("template failed");
    return "<chat>" + messages_json;
  }
  // One sequence at a time: begin() takes it, the next step() generates it to the end.
  bool has_free_slot() const override { return !pending_; }
  int32_t n_active() const override { return pending_ ? 1 : 0; }
  Status begin(const GenerationRequest& request, std::shared_ptr<SequenceObserver> observer) override {
    if (throw_on_begin_) throw std::bad_alloc();  // as the KV cache or a buffer can when memory runs out
    pending_ = request;
    observer_ = std::move(observer);
    return ok_status();
  }
  void step() override {
    if (!pending_) return;
    GenerationResult result;
    result.n_prompt_tokens = static_cast<int32_t>(pending_->prompt_tokens.size());
    result.finish = FinishReason::kLength;
    for (int32_t i = 0; i < pending_->max_tokens; ++i) {
      if (i == 0) gate_.pass();
      std::this_thread::sleep_for(2ms);
      if (observer_->cancelled()) {
        result.finish = FinishReason::kCancelled;
        break;
      }
      result.tokens.push_back(7);
      result.text += "t";
      if (!observer_->on_text("t")) {
        result.finish = FinishReason::kCancelled;
        break;
      }
    }
    pending_.reset();
    std::shared_ptr<SequenceObserver> observer = std::move(observer_);
    observer->on_finish(result);
  }

 private:
  Gate& gate_;
  bool throw_on_begin_;
  std::optional<GenerationRequest> pending_;
  std::shared_ptr<SequenceObserver> observer_;
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
      return std::unique_ptr<ModelBackend>(std::make_unique<FakeBackend>(gate_, throw_on_begin_));
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
  bool throw_on_begin_ = false;
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
