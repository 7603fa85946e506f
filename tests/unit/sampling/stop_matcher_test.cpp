#include "sampling/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tandem {
namespace {

struct Outcome {
  std::string text;  // everything emitted, flush included when no stop came
  bool stopped = false;
  std::string matched;
};

Outcome run_chunks(const std::vector<std::string>& stops, const std::vector<std::string>& chunks) {
  StopMatcher matcher(stops);
  Outcome out;
  for (const auto& chunk : chunks) {
    const StopMatcher::Step step = matcher.push(chunk);
    out.text += step.text;
    if (step.stopped) {
      out.stopped = true;
      break;
    }
  }
  if (!out.stopped) out.text += matcher.flush();
  out.matched = std::string(matcher.matched_stop());
  return out;
}

std::vector<std::string> bytes_of(const std::string& text) {
  std::vector<std::string> chunks;
  for (char c : text) chunks.emplace_back(1, c);
  return chunks;
}

// The specification, written the slow way: the stop that ends first (ties: the longer) cuts the
// text where it begins.
Outcome reference(const std::vector<std::string>& stops, const std::string& text) {
  for (size_t end = 1; end <= text.size(); ++end) {
    const std::string* best = nullptr;
    for (const auto& stop : stops) {
      if (stop.size() <= end && text.compare(end - stop.size(), stop.size(), stop) == 0 &&
          (best == nullptr || stop.size() > best->size())) {
        best = &stop;
      }
    }
    if (best != nullptr) return Outcome{text.substr(0, end - best->size()), true, *best};
  }
  return Outcome{text, false, ""};
}

void expect_same(const Outcome& actual, const Outcome& expected, const std::string& context) {
  EXPECT_EQ(actual.text, expected.text) << context;
  EXPECT_EQ(actual.stopped, expected.stopped) << context;
  EXPECT_EQ(actual.matched, expected.matched) << context;
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  StopMatcher matcher({});
  EXPECT_EQ(matcher.push("Hello").text, "Hello");
  EXPECT_EQ(matcher.push(", world").text, ", world");
  EXPECT_EQ(matcher.flush(), "");
  EXPECT_FALSE(matcher.stopped());
}

TEST(StopMatcher, StopInsideOneChunkCutsItAndWhatFollows) {
  StopMatcher matcher({"STOP"});
  const auto step = matcher.push("Hello STOP world");
  EXPECT_EQ(step.text, "Hello ");
  EXPECT_TRUE(step.stopped);
  EXPECT_EQ(matcher.matched_stop(), "STOP");
  const auto after = matcher.push("more");
  EXPECT_EQ(after.text, "");
  EXPECT_TRUE(after.stopped);
  EXPECT_EQ(matcher.flush(), "");
}

TEST(StopMatcher, StopSpanningChunksIsHeldBackThenCut) {
  StopMatcher matcher({"STOP"});
  auto step = matcher.push("Hel");
  EXPECT_EQ(step.text, "Hel");
  step = matcher.push("lo ST");
  EXPECT_EQ(step.text, "lo ");  // "ST" could begin "STOP"
  EXPECT_FALSE(step.stopped);
  step = matcher.push("O");
  EXPECT_EQ(step.text, "");
  EXPECT_FALSE(step.stopped);
  step = matcher.push("P and more");
  EXPECT_EQ(step.text, "");
  EXPECT_TRUE(step.stopped);
}

TEST(StopMatcher, FalseAlarmReleasesTheHeldText) {
  StopMatcher matcher({"STOP"});
  EXPECT_EQ(matcher.push("ST").text, "");
  EXPECT_EQ(matcher.push("ART").text, "START");
  EXPECT_EQ(matcher.push("S").text, "");
  EXPECT_EQ(matcher.flush(), "S");  // end of generation: nothing more can complete it
  EXPECT_EQ(matcher.flush(), "");
}

TEST(StopMatcher, OverlappingPrefixes) {
  // "aaab": the stop "aab" starts at the second 'a', so exactly one 'a' is emitted.
  StopMatcher matcher({"aab"});
  EXPECT_EQ(matcher.push("a").text, "");
  EXPECT_EQ(matcher.push("a").text, "");
  EXPECT_EQ(matcher.push("a").text, "a");
  const auto step = matcher.push("b");
  EXPECT_EQ(step.text, "");
  EXPECT_TRUE(step.stopped);

  expect_same(run_chunks({"abab"}, {"ab", "a", "abab"}), {"aba", true, "abab"}, "self-overlapping stop");
}

TEST(StopMatcher, StopAtTheVeryStart) {
  expect_same(run_chunks({"</s>"}, {"</s>rest"}), {"", true, "</s>"}, "one chunk");
  expect_same(run_chunks({"</s>"}, {"<", "/", "s", ">"}), {"", true, "</s>"}, "byte by byte");
}

TEST(StopMatcher, MultipleStopsFirstToCompleteWins) {
  // "b" completes before "abc" does, whatever the chunking.
  expect_same(run_chunks({"abc", "b"}, {"xabcx"}), {"xa", true, "b"}, "one chunk");
  expect_same(run_chunks({"abc", "b"}, {"xa", "b"}), {"xa", true, "b"}, "two chunks");
  // Both complete together: the longer one, so the shorter text.
  expect_same(run_chunks({"c", "abc"}, {"xabcx"}), {"x", true, "abc"}, "same end");
  // Different stops, the later one never matters.
  expect_same(run_chunks({"\n\n", "User:"}, {"Hi.\nUs", "er: no\n\n"}), {"Hi.\n", true, "User:"},
              "chat turn");
}

TEST(StopMatcher, HoldsBackForTheLongestPossibleStop) {
  StopMatcher matcher({"xy", "abcd"});
  EXPECT_EQ(matcher.push("zabc").text, "z");
  EXPECT_EQ(matcher.push("x").text, "abc");  // "abcx" can no longer be "abcd"; "x" may be "xy"
  EXPECT_EQ(matcher.flush(), "x");
}

TEST(StopMatcher, Utf8TextAndStops) {
  const std::string text = "こんにちは。世界🌍。";
  // Chunks that split characters in the middle, as byte-level tokens can.
  const std::string stop = "。世";
  std::vector<std::string> chunks;
  for (size_t i = 0; i < text.size(); i += 2) chunks.push_back(text.substr(i, 2));
  expect_same(run_chunks({stop}, chunks), {"こんにちは", true, stop}, "2-byte chunks");
  expect_same(run_chunks({"🌍"}, bytes_of(text)), {"こんにちは。世界", true, "🌍"}, "emoji, bytes");
  expect_same(run_chunks({"世界!"}, {text}), {text, false, ""}, "no match");
}

TEST(StopMatcher, AnyChunkingGivesTheSameResult) {
  std::mt19937 rng(17);
  const std::string alphabet = "ab c";
  std::uniform_int_distribution<size_t> letter(0, alphabet.size() - 1);
  const auto random_string = [&](size_t length) {
    std::string s;
    for (size_t i = 0; i < length; ++i) s += alphabet[letter(rng)];
    return s;
  };
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::string> stops;
    const int n_stops = 1 + trial % 3;
    for (int i = 0; i < n_stops; ++i) stops.push_back(random_string(1 + rng() % 4));
    const std::string text = random_string(rng() % 30);
    const Outcome expected = reference(stops, text);
    const std::string context = "trial " + std::to_string(trial) + ", text '" + text + "'";

    expect_same(run_chunks(stops, {text}), expected, context + ", whole");
    expect_same(run_chunks(stops, bytes_of(text)), expected, context + ", bytes");
    std::vector<std::string> chunks;
    for (size_t i = 0; i < text.size();) {
      const size_t n = rng() % 5;  // empty chunks included
      chunks.push_back(text.substr(i, n));
      i += n;
    }
    expect_same(run_chunks(stops, chunks), expected, context + ", random chunks");
  }
}

TEST(StopMatcher, NearMissIsReleasedWholeAndTheRealStopIsCut) {
  // Chat templates' special tokens share long prefixes; "<|im_start|>" must not be eaten.
  StopMatcher matcher({"<|im_end|>"});
  std::string emitted;
  for (const std::string chunk : {"Sure", "<", "|", "im", "_", "start", "|><", "|im_end", "|>"}) {
    const auto step = matcher.push(chunk);
    emitted += step.text;
    if (step.stopped) break;
  }
  EXPECT_EQ(emitted, "Sure<|im_start|>");
  EXPECT_TRUE(matcher.stopped());
}

}  // namespace
}  // namespace tandem
