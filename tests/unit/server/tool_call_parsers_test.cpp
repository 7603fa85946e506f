// The call parsers on literal model outputs of each family: one call, several, text around them,
// unfinished and malformed calls (which stay text and never throw).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "openai/tool_calls/hermes_parser.h"
#include "openai/tool_calls/llama3_parser.h"
#include "openai/tool_calls/mistral_parser.h"
#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {
namespace {

using State = CallScan::State;

TEST(HermesParser, OneCallAsQwenWritesIt) {
  const std::string out = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n</tool_call>";
  CallScan s = scan_hermes_calls(out, true);
  EXPECT_EQ(s.state, State::kCalls);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].name, "get_weather");
  EXPECT_EQ(s.calls[0].arguments, R"({"city": "Paris", "unit": "c"})");  // the model's own text
  EXPECT_TRUE(s.calls[0].id.starts_with("call_"));
  EXPECT_EQ(s.calls[0].id.size(), 29u);
  EXPECT_EQ(s.consumed, out.size());
}

TEST(HermesParser, SeveralCallsThenText) {
  const std::string out =
      "<tool_call>\n{\"name\": \"a\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": "
      "{\"x\": 1}}\n</tool_call>\nDone.";
  CallScan s = scan_hermes_calls(out, true);
  ASSERT_EQ(s.calls.size(), 2u);
  EXPECT_EQ(s.calls[1].name, "b");
  EXPECT_EQ(s.calls[1].arguments, R"({"x": 1})");
  EXPECT_NE(s.calls[0].id, s.calls[1].id);
  EXPECT_EQ(out.substr(s.consumed), "\nDone.");
}

TEST(HermesParser, WaitsForAnUnfinishedCall) {
  const std::string out = "<tool_call>\n{\"name\": \"a\", \"argum";
  EXPECT_EQ(scan_hermes_calls(out, false).state, State::kNeedMore);
  EXPECT_EQ(scan_hermes_calls("<tool_", false).state, State::kNeedMore);
  // At the end it is text.
  CallScan s = scan_hermes_calls(out, true);
  EXPECT_EQ(s.state, State::kNotCalls);
  EXPECT_TRUE(s.calls.empty());
}

TEST(HermesParser, AcceptsAMissingCloseTagAtTheEnd) {
  CallScan s = scan_hermes_calls("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"q\": \"x\"}}\n", true);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].arguments, R"({"q": "x"})");
}

TEST(HermesParser, MalformedCallsStayText) {
  for (const std::string out : {"<tool_call>\nnot json\n</tool_call>", "<tool_call>{\"arguments\": {}}</tool_call>",
                                "<tool_call>{\"name\": \"a\", \"arguments\": [1]}</tool_call>",
                                "<tool_call>{\"name\": 7}</tool_call>", "<tool_call>{\"name\": \"a\"", "<tool_call>"}) {
    CallScan s = scan_hermes_calls(out, true);
    EXPECT_EQ(s.state, State::kNotCalls) << out;
    EXPECT_TRUE(s.calls.empty()) << out;
    EXPECT_EQ(s.consumed, 0u) << out;
  }
}

TEST(HermesParser, ArgumentsAsAStringOfJson) {
  CallScan s = scan_hermes_calls(R"(<tool_call>{"name": "a", "arguments": "{\"k\": 2}"}</tool_call>)", true);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].arguments, R"({"k":2})");
}

TEST(Llama3Parser, BareJsonCall) {
  const std::string out = R"({"name": "get_weather", "parameters": {"location": "Berlin"}})";
  CallScan s = scan_llama3_calls(out, true);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].name, "get_weather");
  EXPECT_EQ(s.calls[0].arguments, R"({"location": "Berlin"})");
}

TEST(Llama3Parser, PythonTagAndSeveralCalls) {
  const std::string out = R"(<|python_tag|>{"name": "a", "parameters": {}}; {"name": "b", "parameters": {"n": 2}})";
  CallScan s = scan_llama3_calls(out, true);
  ASSERT_EQ(s.calls.size(), 2u);
  EXPECT_EQ(s.calls[1].name, "b");
}

TEST(Llama3Parser, UnfinishedAndMalformed) {
  EXPECT_EQ(scan_llama3_calls(R"({"name": "a", "parameters": {"x)", false).state, State::kNeedMore);
  EXPECT_EQ(scan_llama3_calls(R"({"name": "a", "parameters": {"x)", true).state, State::kNotCalls);
  EXPECT_EQ(scan_llama3_calls(R"({"answer": 42})", true).state, State::kNotCalls);
  EXPECT_EQ(scan_llama3_calls("{not json}", true).state, State::kNotCalls);
}

TEST(MistralParser, JsonArrayOfCalls) {
  const std::string out =
      R"([TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "get_time", "arguments": {}}])";
  CallScan s = scan_mistral_calls(out, true);
  ASSERT_EQ(s.calls.size(), 2u);
  EXPECT_EQ(s.calls[0].arguments, R"({"city":"Rome"})");
  EXPECT_EQ(s.calls[1].name, "get_time");
  EXPECT_EQ(s.consumed, out.size());
  EXPECT_EQ(s.calls[0].id.size(), 9u);  // what Mistral's templates accept back
}

TEST(MistralParser, NameThenArgs) {
  CallScan s = scan_mistral_calls(R"([TOOL_CALLS]get_weather[ARGS]{"city": "Oslo"})", true);
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0].name, "get_weather");
  EXPECT_EQ(s.calls[0].arguments, R"({"city":"Oslo"})");
}

TEST(MistralParser, UnfinishedAndMalformed) {
  EXPECT_EQ(scan_mistral_calls(R"([TOOL_CALLS][{"name": "a", )", false).state, State::kNeedMore);
  EXPECT_EQ(scan_mistral_calls("[TOOL_", false).state, State::kNeedMore);
  EXPECT_EQ(scan_mistral_calls(R"([TOOL_CALLS][{"name": "a", )", true).state, State::kNotCalls);
  EXPECT_EQ(scan_mistral_calls(R"([TOOL_CALLS][{"nom": "a"}])", true).state, State::kNotCalls);
  EXPECT_EQ(scan_mistral_calls("[TOOL_CALLS]hello there", true).state, State::kNotCalls);
}

TEST(ToolCallFormat, ChosenFromTheTemplate) {
  EXPECT_EQ(tool_call_format_for_template("{{- '<tool_call>\\n' }}{{ tool_call | tojson }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(tool_call_format_for_template("{%- if tools %}...'<|python_tag|>'"), ToolCallFormat::kLlama3);
  EXPECT_EQ(tool_call_format_for_template("{{- '<|start_header_id|>ipython<|end_header_id|>' }}"),
            ToolCallFormat::kLlama3);
  EXPECT_EQ(tool_call_format_for_template("{{- '[TOOL_CALLS][' }}"), ToolCallFormat::kMistral);
  EXPECT_EQ(tool_call_format_for_template("<|im_start|>{{ message.content }}"), ToolCallFormat::kHermes);
}

TEST(ToolCallFormat, FindsWhereACallStartsAndHoldsAPartialMarker) {
  size_t hold = 0;
  EXPECT_EQ(find_call_start(ToolCallFormat::kHermes, "Sure. <tool_call>", false, hold), 6u);
  EXPECT_EQ(find_call_start(ToolCallFormat::kHermes, "Sure. <tool_c", false, hold), std::string_view::npos);
  EXPECT_EQ(hold, 7u);
  EXPECT_EQ(find_call_start(ToolCallFormat::kHermes, "a < b", false, hold), std::string_view::npos);
  EXPECT_EQ(hold, 0u);
  EXPECT_EQ(find_call_start(ToolCallFormat::kLlama3, "  {\"name\"", true, hold), 2u);
  EXPECT_EQ(find_call_start(ToolCallFormat::kLlama3, "x {\"name\"", true, hold), std::string_view::npos);
  EXPECT_EQ(find_call_start(ToolCallFormat::kLlama3, "{\"name\"", false, hold), std::string_view::npos);
}

}  // namespace
}  // namespace tandem::openai
