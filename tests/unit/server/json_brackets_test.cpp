#include "openai/json_brackets.h"

#include <gtest/gtest.h>

#include <string>

#include "openai/tool_calls/json_scan.h"

namespace tandem::openai {
namespace {

BracketScan whole(std::string_view text) { return scan_json_brackets(text, BracketScanStop::at_text_end); }
BracketScan first(std::string_view text) { return scan_json_brackets(text, BracketScanStop::at_first_close); }

TEST(JsonBrackets, FindsTheEndOfTheFirstValue) {
  EXPECT_EQ(first("{}").first_close, 2u);
  EXPECT_EQ(first("[1, [2], {\"a\": 3}] tail").first_close, 18u);
  EXPECT_EQ(first("{\"a\": {\"b\": [1]}}{}").first_close, 17u);
}

TEST(JsonBrackets, SkipsBracketsAndEscapedQuotesInsideStrings) {
  // The brackets and the \" inside the string must not count: the object ends at the last '}'.
  const std::string text = R"({"a": "}]\" {[", "b": "\\"})";
  EXPECT_EQ(first(text).first_close, text.size());
  EXPECT_EQ(whole(text).max_depth, 1);
  // An escaped backslash ends the escape: the quote after it closes the string.
  EXPECT_EQ(first(R"(["\\"])").first_close, 6u);
  EXPECT_EQ(first(R"(["\\\"]"])").first_close, 9u);
}

TEST(JsonBrackets, MeasuresNestingDepth) {
  EXPECT_EQ(whole("").max_depth, 0);
  EXPECT_EQ(whole("\"[[[\"").max_depth, 0);
  EXPECT_EQ(whole("[{}]").max_depth, 2);
  EXPECT_EQ(whole("[[[[]]]]").max_depth, 4);
  EXPECT_EQ(whole(std::string(100, '[') + std::string(100, ']')).max_depth, 100);
  // Past the first value, at_text_end keeps counting; at_first_close does not look.
  EXPECT_EQ(whole("[] [[[]]]").max_depth, 3);
  EXPECT_EQ(first("[] [[[]]]").max_depth, 1);
}

TEST(JsonBrackets, TruncatedInputHasNoEnd) {
  EXPECT_FALSE(first("{").first_close);
  EXPECT_FALSE(first("{\"a\": [1, 2]").first_close);
  EXPECT_FALSE(first("{\"a\": \"}").first_close);      // cut inside a string
  EXPECT_FALSE(first("{\"a\": \"\\").first_close);     // cut right after a backslash
  EXPECT_EQ(whole("[[[\"").max_depth, 3);              // depth still counts what was seen
}

TEST(JsonBrackets, JsonValueLengthNeedsABracketFirst) {
  EXPECT_EQ(json_value_length("{\"x\": \"]\"} more"), 10u);
  EXPECT_FALSE(json_value_length(" {}"));
  EXPECT_FALSE(json_value_length("\"s\""));
  EXPECT_FALSE(json_value_length("[1,"));
}

}  // namespace
}  // namespace tandem::openai
