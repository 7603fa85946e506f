// n > 1 (issue 17): the fan-out of one request into n jobs and the merge of what their sinks write,
// against a scheduler that records jobs and a responder that records what the client would get.

#include "openai/multi_choice.h"

#include <gtest/gtest.h>

#include <mutex>

#include "http/api_error.h"
#include "openai/openai_api.h"
#include "openai/response_builder.h"

namespace tandem::openai {
namespace {

using nlohmann::json;
using server::GenerationJob;
using server::GenerationOutcome;
using server::GenerationSink;
using server::SchedulerError;

class RecordingResponder : public http::Responder {
 public:
  void send(http::HttpResponse response) override {
    ++sends;
    last = std::move(response);
  }
  void start_stream(int status, std::string, http::Headers) override {
    ++starts;
    stream_status = status;
  }
  void send_chunk(std::string data) override { stream += data; }
  void end_stream(std::string data) override {
    stream += data;
    ++ends;
  }
  void on_disconnect(std::function<void()> callback) override {
    ++disconnect_registrations;
    hang_up = std::move(callback);
  }
  bool disconnected() const override { return false; }

  int sends = 0, starts = 0, ends = 0, disconnect_registrations = 0, stream_status = 0;
  http::HttpResponse last;
  std::string stream;
  std::function<void()> hang_up;
};

class RecordingScheduler : public server::Scheduler {
 public:
  std::optional<SchedulerError> submit(GenerationJob job, std::shared_ptr<GenerationSink> sink) override {
    if (static_cast<int>(jobs.size()) == refuse_at) {
      return SchedulerError{server::ErrorKind::kQueueFull, "the server is busy", "", "rate_limit_exceeded", 1};
    }
    jobs.push_back(std::move(job));
    sinks.push_back(std::move(sink));
    return std::nullopt;
  }
  server::SchedulerStatus status() const override {
    server::SchedulerStatus s;
    s.max_in_flight = max_in_flight;
    return s;
  }
  void load_model(std::string, std::string, std::function<void(Result<server::ModelInfo>)>) override {}
  void unload_model(std::function<void(Status)>) override {}
  void stop_accepting() override {}
  void cancel_all() override {}
  void stop() override {}

  std::vector<GenerationJob> jobs;
  std::vector<std::shared_ptr<GenerationSink>> sinks;
  int refuse_at = -1;
  int64_t max_in_flight = 64;
};

const ResponseHeader kHeader{"cmpl-1", 100, "m"};

// Writes like the server's own sinks: a whole text completion, or stream chunks with a usage chunk.
class TestSink : public GenerationSink {
 public:
  TestSink(std::shared_ptr<http::Responder> to, bool stream) : to_(std::move(to)), stream_(stream) {}
  void on_start(const server::StartInfo&) override {
    if (stream_) to_->start_stream(200, "text/event-stream", {});
  }
  bool on_text(std::string_view piece) override {
    text_ += piece;
    if (stream_) to_->send_chunk(sse_data(text_chunk(kHeader, piece, "", true)));
    return !to_->disconnected();
  }
  void on_finish(const GenerationOutcome& o) override {
    const Usage usage{o.n_prompt_tokens, o.n_completion_tokens};
    const Timings timings{o.n_prompt_tokens - o.n_cached_tokens, o.n_cached_tokens, o.prompt_ms, o.n_completion_tokens,
                          o.predicted_ms};
    if (!stream_) {
      json body = text_completion(kHeader, text_, o.finish_reason, usage);
      body["timings"] = timings_json(timings);
      return to_->send(http::HttpResponse{200, "application/json", dump(body), {}});
    }
    to_->end_stream(sse_data(text_chunk(kHeader, "", o.finish_reason, true)) + sse_data(usage_chunk(kHeader, false, usage)) +
                    std::string(kSseDone));
  }
  void on_error(const SchedulerError& e) override {
    const http::HttpResponse error = http::error_response(to_api_error(e));
    if (!stream_) return to_->send(error);
    to_->end_stream("data: " + error.body + "\n\n");
  }

 private:
  std::shared_ptr<http::Responder> to_;
  bool stream_;
  std::string text_;
};

struct ChoicesRun {
  RecordingScheduler scheduler;
  std::shared_ptr<RecordingResponder> client = std::make_shared<RecordingResponder>();
  void start(int32_t n, bool stream, uint64_t seed = 42) {
    GenerationJob job;
    job.request_id = "req";
    job.sampling.seed = seed;
    submit_choices(scheduler, job, n, client,
                   [stream](std::shared_ptr<http::Responder> to) { return std::make_shared<TestSink>(std::move(to), stream); });
  }
  GenerationOutcome outcome(int32_t completion, int32_t cached) {
    GenerationOutcome o;
    o.finish_reason = "stop";
    o.n_prompt_tokens = 10;
    o.n_completion_tokens = completion;
    o.n_cached_tokens = cached;
    o.prompt_ms = 5 + cached;
    o.predicted_ms = 20;
    return o;
  }
};

TEST(MultiChoice, WholeResponsesMergeInIndexOrderWithUsageAndTimings) {
  ChoicesRun run;
  run.start(3, false);
  ASSERT_EQ(run.scheduler.jobs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run.scheduler.jobs[i].sampling.seed, 42u + i);
    EXPECT_EQ(run.scheduler.jobs[i].request_id, "req/" + std::to_string(i));
  }
  EXPECT_NE(run.scheduler.jobs[0].cancel, run.scheduler.jobs[1].cancel);  // the scheduler tracks each by its token
  // They finish out of order.
  const std::vector<std::string> texts = {"zero", "one", "two"};
  for (int i : {2, 0, 1}) {
    run.scheduler.sinks[i]->on_start({10});
    run.scheduler.sinks[i]->on_text(texts[i]);
    EXPECT_EQ(run.client->sends, 0);
    run.scheduler.sinks[i]->on_finish(run.outcome(i + 1, i == 0 ? 0 : 9));
  }
  ASSERT_EQ(run.client->sends, 1);
  const json body = json::parse(run.client->last.body);
  ASSERT_EQ(body["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(body["choices"][i]["index"], i);
    EXPECT_EQ(body["choices"][i]["text"], texts[i]);
  }
  EXPECT_EQ(body["usage"]["prompt_tokens"], 10);  // once
  EXPECT_EQ(body["usage"]["completion_tokens"], 1 + 2 + 3);
  EXPECT_EQ(body["usage"]["total_tokens"], 16);
  EXPECT_EQ(body["timings"]["prompt_n"], 10 + 1 + 1);
  EXPECT_EQ(body["timings"]["cache_n"], 18);
  EXPECT_EQ(body["timings"]["predicted_n"], 6);
  EXPECT_DOUBLE_EQ(body["timings"]["prompt_ms"].get<double>(), 14);  // the longest
}

TEST(MultiChoice, StreamsCarryIndexesAndOneSummedUsageChunkBeforeDone) {
  ChoicesRun run;
  run.start(2, true);
  auto& sinks = run.scheduler.sinks;
  sinks[1]->on_start({10});
  sinks[0]->on_start({10});
  EXPECT_EQ(run.client->starts, 1);
  sinks[1]->on_text("b");
  sinks[0]->on_text("a");
  sinks[0]->on_finish(run.outcome(1, 0));
  EXPECT_EQ(run.client->ends, 0) << "choice 1 is still running";
  sinks[1]->on_text("c");
  sinks[1]->on_finish(run.outcome(2, 9));
  ASSERT_EQ(run.client->ends, 1);

  std::vector<json> events;
  size_t at = 0, done = 0;
  while ((at = run.client->stream.find("data: ", at)) != std::string::npos) {
    const size_t end = run.client->stream.find("\n\n", at);
    const std::string payload = run.client->stream.substr(at + 6, end - at - 6);
    at = end;
    if (payload == "[DONE]") {
      ++done;
      continue;
    }
    EXPECT_EQ(done, 0u) << "nothing after [DONE]";
    events.push_back(json::parse(payload));
  }
  EXPECT_EQ(done, 1u);
  std::string text[2];
  int finishes = 0, usages = 0;
  for (const json& e : events) {
    if (e["choices"].empty()) {
      ++usages;
      EXPECT_EQ(e["usage"]["prompt_tokens"], 10);
      EXPECT_EQ(e["usage"]["completion_tokens"], 3);
      EXPECT_EQ(e["usage"]["total_tokens"], 13);
      EXPECT_EQ(&e, &events.back());
      continue;
    }
    const int index = e["choices"][0]["index"];
    text[index] += e["choices"][0]["text"].get<std::string>();
    if (!e["choices"][0]["finish_reason"].is_null()) ++finishes;
  }
  EXPECT_EQ(text[0], "a");
  EXPECT_EQ(text[1], "bc");
  EXPECT_EQ(finishes, 2);
  EXPECT_EQ(usages, 1);
}

TEST(MultiChoice, TheFirstErrorAnswersAndCancelsTheOthers) {
  ChoicesRun run;
  run.start(3, false);
  run.scheduler.sinks[1]->on_error(
      SchedulerError{server::ErrorKind::kUnavailable, "waited too long", "", "queue_timeout", 2});
  ASSERT_EQ(run.client->sends, 1);
  EXPECT_EQ(run.client->last.status, 503);
  for (const auto& job : run.scheduler.jobs) EXPECT_TRUE(job.cancel->cancelled());
  // The others end as cancelled: nobody hears of it.
  run.scheduler.sinks[0]->on_error(SchedulerError{server::ErrorKind::kCancelled, "cancelled"});
  run.scheduler.sinks[2]->on_finish(run.outcome(1, 0));
  EXPECT_EQ(run.client->sends, 1);
}

TEST(MultiChoice, AnErrorAfterTheStreamStartedEndsItWithoutDone) {
  ChoicesRun run;
  run.start(2, true);
  run.scheduler.sinks[0]->on_start({10});
  run.scheduler.sinks[0]->on_text("a");
  run.scheduler.sinks[1]->on_start({10});
  run.scheduler.sinks[1]->on_error(SchedulerError{server::ErrorKind::kInternal, "the engine failed"});
  EXPECT_EQ(run.client->ends, 1);
  EXPECT_NE(run.client->stream.find("\"error\""), std::string::npos);
  EXPECT_EQ(run.client->stream.find("[DONE]"), std::string::npos);
  EXPECT_TRUE(run.scheduler.jobs[0].cancel->cancelled());
  run.scheduler.sinks[0]->on_finish(run.outcome(1, 0));
  EXPECT_EQ(run.client->ends, 1);
}

TEST(MultiChoice, ARefusedChoiceRefusesTheRequestAndCancelsThoseQueued) {
  ChoicesRun run;
  run.scheduler.refuse_at = 2;
  run.start(4, false);
  ASSERT_EQ(run.scheduler.jobs.size(), 2u);
  ASSERT_EQ(run.client->sends, 1);
  EXPECT_EQ(run.client->last.status, 429);
  for (const auto& job : run.scheduler.jobs) EXPECT_TRUE(job.cancel->cancelled());
}

TEST(MultiChoice, MoreChoicesThanTheServerRunsAtOnceIsA400NamingN) {
  ChoicesRun run;
  run.scheduler.max_in_flight = 2;
  run.start(3, false);
  EXPECT_TRUE(run.scheduler.jobs.empty());
  ASSERT_EQ(run.client->sends, 1);
  EXPECT_EQ(run.client->last.status, 400);
  EXPECT_EQ(json::parse(run.client->last.body)["error"]["param"], "n");
}

TEST(MultiChoice, AHangUpCancelsEveryChoice) {
  ChoicesRun run;
  run.start(3, true);
  EXPECT_EQ(run.client->disconnect_registrations, 1);  // a responder keeps one callback
  run.client->hang_up();
  for (const auto& job : run.scheduler.jobs) EXPECT_TRUE(job.cancel->cancelled());
}

TEST(MultiChoice, WithoutASeedEachChoiceDrawsItsOwn) {
  ChoicesRun run;
  run.start(2, false, kRandomSeed);
  for (const auto& job : run.scheduler.jobs) EXPECT_EQ(job.sampling.seed, kRandomSeed);
  ChoicesRun edge;
  edge.start(3, false, kRandomSeed - 1);  // seed + 1 would mean "random": stepped over
  EXPECT_EQ(edge.scheduler.jobs[0].sampling.seed, kRandomSeed - 1);
  EXPECT_NE(edge.scheduler.jobs[1].sampling.seed, kRandomSeed);
  EXPECT_EQ(edge.scheduler.jobs[2].sampling.seed, kRandomSeed + 1);
}

}  // namespace
}  // namespace tandem::openai
