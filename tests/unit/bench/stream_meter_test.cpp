#include <gtest/gtest.h>

#include "tools/bench/request_runner.h"

namespace tandem::bench {
namespace {

using std::chrono::milliseconds;

std::string chunk(const std::string& text) {
  return R"({"choices":[{"index":0,"delta":{"content":")" + text + R"("}}]})";
}

TEST(StreamMeter, TimesFirstTokenAndGapsAndTakesUsage) {
  const Clock::time_point t0{};
  StreamMeter m(t0);
  m.on_event(R"({"choices":[{"index":0,"delta":{"role":"assistant"}}]})", t0 + milliseconds(5));  // no text yet
  m.on_event(chunk("Once"), t0 + milliseconds(40));
  m.on_event(chunk(" upon"), t0 + milliseconds(50));
  m.on_event(chunk(" a"), t0 + milliseconds(65));
  m.on_event(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})", t0 + milliseconds(66));
  m.on_event("[DONE]", t0 + milliseconds(66));
  RequestRecord r;
  m.finish(r, t0 + milliseconds(70));
  EXPECT_TRUE(r.ok) << r.error_kind;
  EXPECT_DOUBLE_EQ(r.ttft_ms, 40);
  EXPECT_DOUBLE_EQ(r.e2e_ms, 70);
  ASSERT_EQ(r.itl_ms.size(), 2u);
  EXPECT_DOUBLE_EQ(r.itl_ms[0], 10);
  EXPECT_DOUBLE_EQ(r.itl_ms[1], 15);
  EXPECT_EQ(r.output_tokens, 4);  // usage wins over the three chunks
}

TEST(StreamMeter, CountsChunksWithoutUsage) {
  StreamMeter m(Clock::time_point{});
  m.on_event(chunk("a"), Clock::time_point{} + milliseconds(1));
  m.on_event(R"({"choices":[{"index":0,"text":"b"}]})", Clock::time_point{} + milliseconds(2));
  m.on_event("[DONE]", Clock::time_point{} + milliseconds(2));
  RequestRecord r;
  m.finish(r, Clock::time_point{} + milliseconds(3));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.output_tokens, 2);
}

TEST(StreamMeter, StreamWithoutDoneIsIncomplete) {
  StreamMeter m(Clock::time_point{});
  m.on_event(chunk("a"), Clock::time_point{} + milliseconds(1));
  RequestRecord r;
  m.finish(r, Clock::time_point{} + milliseconds(3));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "incomplete");
}

TEST(StreamMeter, ErrorEventIsAStreamError) {
  StreamMeter m(Clock::time_point{});
  m.on_event(chunk("a"), Clock::time_point{} + milliseconds(1));
  m.on_event(R"({"error":{"message":"server shutting down","type":"server_error"}})", Clock::time_point{} + milliseconds(2));
  RequestRecord r;
  m.finish(r, Clock::time_point{} + milliseconds(3));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "stream_error");
  EXPECT_EQ(r.error_detail, "server shutting down");
}

TEST(StreamMeter, GarbageIsABadResponse) {
  StreamMeter m(Clock::time_point{});
  m.on_event("not json", Clock::time_point{});
  m.on_event("[DONE]", Clock::time_point{});
  RequestRecord r;
  m.finish(r, Clock::time_point{});
  EXPECT_EQ(r.error_kind, "bad_response");
}

TEST(RequestBody, StreamAsksForUsageAndExtraBodyMerges) {
  RequestSpec spec;
  spec.model = "m";
  spec.max_tokens = 8;
  spec.stream = true;
  spec.extra_body = {{"temperature", 0}, {"max_tokens", 9}};
  const auto body = nlohmann::json::parse(request_body(spec, "hi"));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["messages"][0]["content"], "hi");
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_EQ(body["max_tokens"], 9);
  spec.stream = false;
  EXPECT_FALSE(nlohmann::json::parse(request_body(spec, "hi")).contains("stream_options"));
}

}  // namespace
}  // namespace tandem::bench
