// The reply splitter: reasoning, content and tool calls, whole and fed in every possible split,
// so a stream never shows part of a tag as content and always adds up to the whole reply.

#include "openai/reply_parser.h"

#include <gtest/gtest.h>

namespace tandem::openai {
namespace {

struct Split {
  std::string reasoning, content;
  std::vector<std::string> calls;  // "name args"
};

Split collect(ReplyParser& p, const std::vector<std::string>& pieces, std::vector<ReplyDelta>* deltas = nullptr) {
  Split s;
  std::vector<ToolCallPiece> streamed;  // per call: its first piece, arguments joined
  auto take = [&](ReplyDelta d) {
    s.reasoning += d.reasoning;
    s.content += d.content;
    for (const ToolCall& c : d.tool_calls) s.calls.push_back(c.name + " " + c.arguments);
    for (const ToolCallPiece& piece : d.call_pieces) {
      if (!piece.id.empty()) {
        EXPECT_EQ(piece.index, streamed.size());
        streamed.push_back(piece);
      } else {
        EXPECT_LT(piece.index, streamed.size());
        if (piece.index < streamed.size()) streamed[piece.index].arguments += piece.arguments;
      }
    }
    if (deltas) deltas->push_back(std::move(d));
  };
  for (const std::string& piece : pieces) take(p.feed(piece));
  take(p.finish());
  // The pieces add up to the calls.
  EXPECT_EQ(streamed.size(), p.tool_calls().size());
  for (size_t i = 0; i < std::min(streamed.size(), p.tool_calls().size()); ++i) {
    EXPECT_EQ(streamed[i].id, p.tool_calls()[i].id);
    EXPECT_EQ(streamed[i].name, p.tool_calls()[i].name);
    EXPECT_EQ(streamed[i].arguments, p.tool_calls()[i].arguments);
  }
  return s;
}

std::vector<std::string> bytes_of(const std::string& text) {
  std::vector<std::string> out;
  for (char c : text) out.emplace_back(1, c);
  return out;
}

// Whole, byte by byte, and cut in two at every point: always the same split.
Split split_every_way(const ReplyOptions& options, const std::string& text) {
  ReplyParser whole(options);
  const Split expected = collect(whole, {text});
  ReplyParser by_byte(options);
  const Split b = collect(by_byte, bytes_of(text));
  EXPECT_EQ(b.reasoning, expected.reasoning);
  EXPECT_EQ(b.content, expected.content);
  EXPECT_EQ(b.calls, expected.calls);
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    ReplyParser p(options);
    const Split c = collect(p, {text.substr(0, cut), text.substr(cut)});
    EXPECT_EQ(c.reasoning, expected.reasoning) << cut;
    EXPECT_EQ(c.content, expected.content) << cut;
    EXPECT_EQ(c.calls, expected.calls) << cut;
  }
  return expected;
}

ReplyOptions hermes() {
  ReplyOptions o;
  o.tool_format = ToolCallFormat::kHermes;
  return o;
}

TEST(ReplyParser, PlainTextPassesThrough) {
  const Split s = split_every_way({}, "Hello, world. a < b and <b>bold</b>");
  EXPECT_EQ(s.content, "Hello, world. a < b and <b>bold</b>");
  EXPECT_EQ(s.reasoning, "");
}

TEST(ReplyParser, ThinkingAtTheStartIsReasoning) {
  const Split s = split_every_way({}, "<think>\nThe user greets me.\n</think>\n\nHello!");
  EXPECT_EQ(s.reasoning, "The user greets me.\n");
  EXPECT_EQ(s.content, "Hello!");
}

TEST(ReplyParser, ThinkTagsLaterAreContent) {
  const Split s = split_every_way({}, "Use <think> tags like </think> this.");
  EXPECT_EQ(s.reasoning, "");
  EXPECT_EQ(s.content, "Use <think> tags like </think> this.");
}

TEST(ReplyParser, APromptThatOpenedThinkStartsInReasoning) {
  ReplyOptions o;
  o.starts_in_reasoning = true;
  const Split s = split_every_way(o, "Let me think.\n</think>\n\nThe answer is 4.");
  EXPECT_EQ(s.reasoning, "Let me think.\n");
  EXPECT_EQ(s.content, "The answer is 4.");
}

TEST(ReplyParser, UnclosedReasoningStaysReasoning) {
  ReplyOptions o;
  o.starts_in_reasoning = true;
  const Split s = split_every_way(o, "still thinking </thi");
  EXPECT_EQ(s.reasoning, "still thinking </thi");
  EXPECT_EQ(s.content, "");
}

TEST(ReplyParser, NoPartialTagIsEverShown) {
  ReplyParser p({});
  ReplyDelta d = p.feed("<thi");
  EXPECT_TRUE(d.empty());
  d = p.feed("nk>ok</th");
  EXPECT_EQ(d.content, "");
  EXPECT_EQ(d.reasoning, "ok");
  d = p.feed("ink>done");
  EXPECT_EQ(d.content, "done");

  ReplyParser t(hermes());
  d = t.feed("Calling <tool_");
  EXPECT_EQ(d.content, "Calling ");
  d = t.feed("call>{\"name\": \"f\", \"arguments\": {}}");
  EXPECT_EQ(d.content, "");
  EXPECT_TRUE(d.tool_calls.empty());  // streamed (name, arguments), complete once the tag closes
  d = t.feed("</tool_call>");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_EQ(d.tool_calls[0].name, "f");
}

TEST(ReplyParser, TextBeforeACallIsContent) {
  const Split s = split_every_way(
      hermes(), "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
  EXPECT_EQ(s.content, "Let me check.\n");
  ASSERT_EQ(s.calls.size(), 1u);
  EXPECT_EQ(s.calls[0], R"(get_weather {"city": "Paris"})");
}

TEST(ReplyParser, SeveralCallsAndReasoning) {
  const Split s = split_every_way(hermes(),
                                  "<think>two lookups</think><tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n"
                                  "<tool_call>{\"name\": \"b\", \"arguments\": {\"n\": 1}}</tool_call>");
  EXPECT_EQ(s.reasoning, "two lookups");
  EXPECT_EQ(s.content, "");
  EXPECT_EQ(s.calls, (std::vector<std::string>{"a {}", R"(b {"n": 1})"}));
}

TEST(ReplyParser, ParallelCallsOffKeepsTheFirst) {
  ReplyOptions o = hermes();
  o.parallel_tool_calls = false;
  const Split s = split_every_way(o, "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>"
                                     "<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>");
  EXPECT_EQ(s.calls, (std::vector<std::string>{"a {}"}));
}

TEST(ReplyParser, MalformedCallsStayContent) {
  for (const std::string text : {"<tool_call>\nnot json\n</tool_call> after", "<tool_call>{\"name\": \"a\", \"argu",
                                 "x <tool_call>{\"oops\": 1}</tool_call>"}) {
    const Split s = split_every_way(hermes(), text);
    EXPECT_TRUE(s.calls.empty()) << text;
    EXPECT_EQ(s.content, text);
  }
}

TEST(ReplyParser, AGoodCallAfterABadOne) {
  const Split s = split_every_way(
      hermes(), "<tool_call>bad</tool_call> then <tool_call>{\"name\": \"ok\", \"arguments\": {}}</tool_call>");
  EXPECT_EQ(s.content, "<tool_call>bad</tool_call> then ");
  EXPECT_EQ(s.calls, (std::vector<std::string>{"ok {}"}));
}

TEST(ReplyParser, WithoutToolsACallIsJustText) {
  const std::string text = "<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>";
  const Split s = split_every_way({}, text);
  EXPECT_EQ(s.content, text);
  EXPECT_TRUE(s.calls.empty());
}

TEST(ReplyParser, Llama3CallAtTheStartOnly) {
  ReplyOptions o;
  o.tool_format = ToolCallFormat::kLlama3;
  Split s = split_every_way(o, " {\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}");
  EXPECT_EQ(s.calls, (std::vector<std::string>{R"(get_time {"tz": "UTC"})"}));
  EXPECT_EQ(s.content, " ");
  s = split_every_way(o, "The JSON is {\"name\": \"x\", \"parameters\": {}}");
  EXPECT_TRUE(s.calls.empty());
  s = split_every_way(o, "{\"not\": \"a call\"} indeed");
  EXPECT_TRUE(s.calls.empty());
  EXPECT_EQ(s.content, "{\"not\": \"a call\"} indeed");
}

// Found by reply_parser_fuzz: streamed, the "; " after a first call came in a later piece than the
// call, and the scan that read it, having taken no call itself, showed it and the next call as text.
TEST(ReplyParser, Llama3CallsSeparatedBySemicolonsInAnySplit) {
  ReplyOptions o;
  o.tool_format = ToolCallFormat::kLlama3;
  const Split s = split_every_way(o, R"({"name": "get_time", "parameters": {"tz": "UTC"}}; {"name": "f", "parameters": {}})");
  EXPECT_EQ(s.calls, (std::vector<std::string>{R"(get_time {"tz": "UTC"})", "f {}"}));
  EXPECT_EQ(s.content, "");
}

TEST(ReplyParser, AMarkerAloneIsText) {
  // Found by tests/fuzz/reply_parser_fuzz: a reply of just <|python_tag|> looped forever at the end.
  ReplyOptions o;
  o.tool_format = ToolCallFormat::kLlama3;
  Split s = split_every_way(o, "<|python_tag|>");
  EXPECT_EQ(s.content, "<|python_tag|>");
  EXPECT_TRUE(s.calls.empty());
  o.tool_format = ToolCallFormat::kMistral;
  // And a name still being written before [ARGS] was taken for text.
  s = split_every_way(o, "[TOOL_CALLS]h[ARGS]{\"x\": 1}");
  EXPECT_EQ(s.calls, (std::vector<std::string>{R"(h {"x":1})"}));
}

TEST(ReplyParser, MistralCalls) {
  ReplyOptions o;
  o.tool_format = ToolCallFormat::kMistral;
  const Split s = split_every_way(o, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": [1, 2]}}]");
  EXPECT_EQ(s.calls, (std::vector<std::string>{R"(f {"a":[1,2]})"}));
}

TEST(ReplyParser, ArgumentsStreamAsTheyCome) {
  ReplyParser p(hermes());
  EXPECT_TRUE(p.feed("<tool_call>\n{\"name\": \"get_weather\", ").empty());
  ReplyDelta d = p.feed("\"arguments\": {\"city\": \"Pa");
  ASSERT_EQ(d.call_pieces.size(), 2u);
  EXPECT_EQ(d.call_pieces[0].name, "get_weather");
  EXPECT_TRUE(d.call_pieces[0].id.starts_with("call_"));
  EXPECT_EQ(d.call_pieces[1].arguments, "{\"city\": \"Pa");
  d = p.feed("ris\"}}\n");
  ASSERT_EQ(d.call_pieces.size(), 1u);
  EXPECT_EQ(d.call_pieces[0].arguments, "ris\"}");  // the call's own closing brace is not theirs
  EXPECT_TRUE(d.tool_calls.empty());                   // complete once its tag closes
  d = p.feed("</tool_call>");
  ASSERT_EQ(d.tool_calls.size(), 1u);
  EXPECT_TRUE(d.call_pieces.empty());
  EXPECT_EQ(p.tool_calls()[0].arguments, "{\"city\": \"Paris\"}");
}

TEST(ReplyParser, ForcedOpeningIsReadFirst) {
  // tool_choice "required": the prompt ends with the call's opening, the model writes the rest.
  ReplyParser p(hermes());
  EXPECT_TRUE(p.feed("<tool_call>\n{\"name\": \"f\", \"arguments\": ").empty());
  const Split s = collect(p, {"{\"x\": 1}}\n</tool_call>"});
  EXPECT_EQ(s.calls, (std::vector<std::string>{R"(f {"x": 1})"}));
  EXPECT_EQ(s.content, "");
}

}  // namespace
}  // namespace tandem::openai
