#include "app/monitored_scheduler.h"

#include <gtest/gtest.h>

#include <thread>

namespace tandem::server {
namespace {

using namespace std::chrono_literals;

// The real scheduler's stand-in: records what reaches it; the test completes its loads and unloads.
class FakeScheduler : public Scheduler {
 public:
  std::optional<SchedulerError> submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) override {
    std::lock_guard lock(mutex);
    submitted.push_back(job.request_id);
    sinks.push_back(std::move(sink));
    return std::nullopt;
  }
  SchedulerStatus status() const override {
    std::lock_guard lock(mutex);
    SchedulerStatus s;
    s.state = state;
    if (state == ModelState::kReady) s.model = ModelInfo{"m", "/m.gguf", 64, 100, 1};
    s.reason = state == ModelState::kReady ? "" : "the model was unloaded (POST /admin/model/unload)";
    return s;
  }
  void load_model(std::string, std::string, std::function<void(Result<ModelInfo>)> done) override {
    std::lock_guard lock(mutex);
    state = ModelState::kLoading;
    loaded = std::move(done);
  }
  void unload_model(std::function<void(Status)> done) override {
    std::lock_guard lock(mutex);
    unloaded = std::move(done);
  }
  void stop_accepting() override {}
  void cancel_all() override {}
  void stop() override {}

  void finish_unload() {
    std::function<void(Status)> done;
    {
      std::lock_guard lock(mutex);
      state = ModelState::kUnloaded;
      done = std::move(unloaded);
    }
    done(ok_status());
  }
  void finish_load(bool ok) {
    std::function<void(Result<ModelInfo>)> done;
    {
      std::lock_guard lock(mutex);
      state = ok ? ModelState::kReady : ModelState::kUnloaded;
      done = std::move(loaded);
    }
    if (ok) {
      done(ModelInfo{"m", "/m.gguf", 64, 100, 1});
    } else {
      done(make_error("out of memory"));
    }
  }

  mutable std::mutex mutex;
  ModelState state = ModelState::kReady;
  std::vector<std::string> submitted;
  std::vector<std::shared_ptr<GenerationSink>> sinks;  // as the scheduler got them
  std::function<void(Result<ModelInfo>)> loaded;
  std::function<void(Status)> unloaded;
};

struct Sink : GenerationSink {
  void on_start(const StartInfo&) override {}
  bool on_text(std::string_view) override { return true; }
  void on_finish(const GenerationOutcome&) override {}
  void on_error(const SchedulerError& e) override { error = e; }
  std::optional<SchedulerError> error;
};

GenerationJob job(std::string id) {
  GenerationJob j;
  j.request_id = std::move(id);
  return j;
}

class MonitoredSchedulerTest : public ::testing::Test {
 protected:
  MonitoredSchedulerTest()
      : guarded(inner, options(), [this](std::string& reason) {
          if (!fits) reason = "memory use would be 0.91 of total";
          return fits;
        }) {}
  static MemoryGuardOptions options() {
    // Built whole: GCC 12 at -O3 warns falsely (-Wrestrict) on assigning a short literal here.
    return MemoryGuardOptions{std::string("/m.gguf"), std::string("m"), 200ms, 7};
  }
  FakeScheduler inner;
  bool fits = false;
  MonitoredScheduler guarded;
};

TEST_F(MonitoredSchedulerTest, ServingPassesEverythingThrough) {
  EXPECT_FALSE(guarded.submit(job("a"), std::make_shared<Sink>()));
  EXPECT_EQ(inner.submitted, std::vector<std::string>{"a"});
  EXPECT_EQ(guarded.status().state, ModelState::kReady);
  EXPECT_FALSE(guarded.status().reloadable);
}

TEST_F(MonitoredSchedulerTest, UnloadRefusesWithTheReasonUntilMemoryAllowsThenTheNextRequestReloads) {
  EXPECT_EQ(guarded.unload_for_memory("memory_used_ratio 0.91 above 0.85").rfind("unloading the model", 0), 0u);
  ASSERT_TRUE(inner.unloaded) << "the real scheduler was asked to unload";
  // Still unloading: nothing is admitted, and status says why.
  auto refused = guarded.submit(job("b"), std::make_shared<Sink>());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->kind, ErrorKind::kUnavailable);
  EXPECT_EQ(refused->code, "model_unloaded_low_memory");
  EXPECT_EQ(refused->retry_after_seconds, 7);
  EXPECT_NE(refused->message.find("memory_used_ratio 0.91 above 0.85"), std::string::npos) << refused->message;
  SchedulerStatus s = guarded.status();
  EXPECT_EQ(s.state, ModelState::kUnloaded);
  EXPECT_FALSE(s.model);
  ASSERT_TRUE(s.reloadable);
  EXPECT_EQ(s.reloadable->id, "m");
  EXPECT_NE(s.reason.find("unloaded to free memory"), std::string::npos);

  inner.finish_unload();
  EXPECT_EQ(guarded.unload_for_memory("again"), "none: the model is already unloaded");
  refused = guarded.submit(job("c"), std::make_shared<Sink>());
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->message.find("memory use would be 0.91 of total"), std::string::npos) << refused->message;
  EXPECT_FALSE(inner.loaded) << "no reload while it would not fit";

  fits = true;
  EXPECT_FALSE(guarded.submit(job("d"), std::make_shared<Sink>())) << "waits for the reload";
  EXPECT_FALSE(guarded.submit(job("e"), std::make_shared<Sink>())) << "so does the next";
  ASSERT_TRUE(inner.loaded) << "the first request started a reload";
  EXPECT_TRUE(inner.submitted.empty());
  inner.finish_load(true);
  EXPECT_EQ(inner.submitted, (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(guarded.status().state, ModelState::kReady);
  EXPECT_FALSE(guarded.status().reloadable);
  EXPECT_FALSE(guarded.submit(job("f"), std::make_shared<Sink>()));
  EXPECT_EQ(inner.submitted.back(), "f");
}

TEST_F(MonitoredSchedulerTest, AQueuedRequestTheUnloadLeftWithoutAModelHearsWhy) {
  auto sink = std::make_shared<Sink>();
  EXPECT_FALSE(guarded.submit(job("queued"), sink));
  guarded.unload_for_memory("memory_used_ratio 0.91 above 0.85");
  inner.finish_unload();
  // The scheduler prepares it with no model: its refusal names the administrator's unload.
  inner.sinks.back()->on_error(SchedulerError{ErrorKind::kUnavailable, "no model is loaded (POST /admin/model/unload)",
                                              "", "model_not_loaded"});
  ASSERT_TRUE(sink->error);
  EXPECT_EQ(sink->error->code, "model_unloaded_low_memory");
  EXPECT_EQ(sink->error->retry_after_seconds, 7);
  EXPECT_NE(sink->error->message.find("unloaded to free memory (memory_used_ratio 0.91 above 0.85)"), std::string::npos)
      << sink->error->message;
}

TEST_F(MonitoredSchedulerTest, AFailedReloadFailsTheWaitingRequests) {
  guarded.unload_for_memory("x");
  inner.finish_unload();
  fits = true;
  auto sink = std::make_shared<Sink>();
  EXPECT_FALSE(guarded.submit(job("a"), sink));
  inner.finish_load(false);
  ASSERT_TRUE(sink->error);
  EXPECT_EQ(sink->error->kind, ErrorKind::kUnavailable);
  EXPECT_NE(sink->error->message.find("out of memory"), std::string::npos);
  EXPECT_NE(guarded.status().reason.find("reloading after a memory_high unload failed"), std::string::npos);
}

TEST_F(MonitoredSchedulerTest, RequestsStillRunningWhenTheGraceEndsAreCancelled) {
  GenerationJob running = job("long");
  const auto token = running.cancel;
  auto sink = std::make_shared<Sink>();
  EXPECT_FALSE(guarded.submit(std::move(running), sink));
  guarded.unload_for_memory("x");
  EXPECT_FALSE(token->cancelled());
  for (int i = 0; i < 100 && !token->cancelled(); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(token->cancelled()) << "cancelled after the 200 ms grace";
  // The scheduler reports the cancellation; the client hears why, as a 503 it may retry.
  inner.sinks.back()->on_error(SchedulerError{ErrorKind::kCancelled, "the generation was cancelled by the client"});
  ASSERT_TRUE(sink->error);
  EXPECT_EQ(sink->error->kind, ErrorKind::kUnavailable);
  EXPECT_EQ(sink->error->retry_after_seconds, 7);
  EXPECT_NE(sink->error->message.find("cut short: the model was unloaded to free memory (x)"), std::string::npos)
      << sink->error->message;
  inner.finish_unload();
}

TEST_F(MonitoredSchedulerTest, AnUnloadThatEndsInTimeCancelsNothing) {
  GenerationJob running = job("short");
  const auto token = running.cancel;
  auto sink = std::make_shared<Sink>();
  guarded.submit(std::move(running), sink);
  guarded.unload_for_memory("x");
  inner.finish_unload();
  std::this_thread::sleep_for(400ms);
  EXPECT_FALSE(token->cancelled());
  // A client's own cancellation stays what it is.
  inner.sinks.back()->on_error(SchedulerError{ErrorKind::kCancelled, "the generation was cancelled by the client"});
  ASSERT_TRUE(sink->error);
  EXPECT_EQ(sink->error->kind, ErrorKind::kCancelled);
}

TEST_F(MonitoredSchedulerTest, AnAdministratorsLoadEndsTheMemoryState) {
  guarded.unload_for_memory("x");
  inner.finish_unload();
  guarded.load_model("/m.gguf", "m", [](Result<ModelInfo>) {});
  EXPECT_FALSE(guarded.status().reloadable);
  inner.finish_load(true);
  EXPECT_FALSE(guarded.submit(job("a"), std::make_shared<Sink>()));
  EXPECT_EQ(inner.submitted.back(), "a");
}

TEST_F(MonitoredSchedulerTest, NothingToUnloadWithoutAModel) {
  inner.state = ModelState::kUnloaded;
  EXPECT_EQ(guarded.unload_for_memory("x"), "none: no model is loaded");
  EXPECT_FALSE(inner.unloaded);
}

}  // namespace
}  // namespace tandem::server
