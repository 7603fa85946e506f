#include "tools/bench/sse_decoder.h"

#include <gtest/gtest.h>

namespace tandem::bench {
namespace {

TEST(SseDecoder, EventsSplitAcrossPieces) {
  SseDecoder d;
  EXPECT_TRUE(d.feed("data: {\"a\"").empty());
  EXPECT_TRUE(d.has_partial());
  EXPECT_TRUE(d.feed(":1}\n").empty());
  const auto events = d.feed("\ndata: [DONE]\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "{\"a\":1}");
  EXPECT_EQ(events[1], "[DONE]");
  EXPECT_FALSE(d.has_partial());
}

TEST(SseDecoder, CrlfCommentsAndMultilineData) {
  SseDecoder d;
  const auto events = d.feed(": keep-alive\r\n\r\nevent: x\r\ndata: one\r\ndata:two\r\n\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "one\ntwo");
}

TEST(SseDecoder, CrLfSplitBetweenPieces) {
  SseDecoder d;
  std::vector<std::string> events;
  for (const char* piece : {"data: x\r", "\n\r", "\n", "data: y\r\n", "\r\n"}) {
    for (auto& e : d.feed(piece)) events.push_back(e);
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "x");
  EXPECT_EQ(events[1], "y");
}

}  // namespace
}  // namespace tandem::bench
