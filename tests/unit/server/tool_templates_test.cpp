// Real chat templates (tests/data/chat/templates) with a tool-call round trip as this server
// produces it: the format each one's replies are read in, and a second turn (the call and its
// result, ids and arguments as the server sent them) that renders without the template raising.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chat/chat_template.h"
#include "openai/chat_plan.h"
#include "openai/reply_parser.h"
#include "openai/tool_calls/tool_call_json.h"

namespace tandem::openai {
namespace {

using nlohmann::ordered_json;

std::string read_template(const std::string& name) {
  std::ifstream in(std::string(TANDEM_TEST_DATA) + "/chat/templates/" + name, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string kTools = R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])";

struct Case {
  const char* file;
  ToolCallFormat format;
  bool injected;        // the template ignores tools: the server's prompt describes them
  const char* reply;    // a reply in the model's format
};

class ToolTemplates : public testing::TestWithParam<Case> {};

TEST_P(ToolTemplates, RoundTrip) {
  const Case& c = GetParam();
  const std::string source = read_template(c.file);
  ASSERT_FALSE(source.empty()) << c.file;
  auto tmpl = ChatTemplate::parse(source);
  ASSERT_TRUE(tmpl) << tmpl.error();

  // First turn: the tools reach the prompt, and the reply is read in the template's format.
  const std::string question = R"([{"role": "user", "content": "Weather in Paris?"}])";
  ParsedRequest first = parse_chat_request(R"({"model": "m", "messages": )" + question + ", \"tools\": " + kTools + "}");
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(first));
  auto planned = plan_chat(std::get<CompletionRequest>(first), source);
  ASSERT_TRUE(std::holds_alternative<ChatPlan>(planned));
  const ChatPlan& plan = std::get<ChatPlan>(planned);
  EXPECT_EQ(plan.reply.tool_format, c.format) << c.file;
  EXPECT_EQ(plan.tool_prompt_injected, c.injected) << c.file;
  ordered_json context = ordered_json::parse(plan.template_vars_json);
  context["messages"] = ordered_json::parse(plan.messages_json);
  context["add_generation_prompt"] = true;
  context["bos_token"] = "<s>";
  context["eos_token"] = "</s>";
  auto prompt = tmpl->render(context);
  ASSERT_TRUE(prompt) << c.file << ": " << prompt.error();
  EXPECT_NE(prompt->find("get_weather"), std::string::npos) << c.file << " shows no tool:\n" << *prompt;

  ReplyParser parser(plan.reply);
  parser.feed(c.reply);
  parser.finish();
  ASSERT_EQ(parser.tool_calls().size(), 1u) << c.file << ": " << parser.content();
  const ToolCall& call = parser.tool_calls()[0];
  EXPECT_EQ(call.name, "get_weather");
  EXPECT_EQ(ordered_json::parse(call.arguments), ordered_json::parse(R"({"city": "Paris"})"));

  // Second turn: the call as the client sends it back, and the result.
  ordered_json messages = ordered_json::parse(question);
  messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", tool_calls_json(parser.tool_calls())}});
  messages.push_back({{"role", "tool"}, {"tool_call_id", call.id}, {"content", "{\"weather\": \"sunny\"}"}});
  ParsedRequest second = parse_chat_request(R"({"model": "m", "messages": )" + messages.dump() + ", \"tools\": " + kTools + "}");
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(second)) << std::get<http::ApiError>(second).message;
  auto planned2 = plan_chat(std::get<CompletionRequest>(second), source);
  const ChatPlan& plan2 = std::get<ChatPlan>(planned2);
  ordered_json context2 = ordered_json::parse(plan2.template_vars_json);
  context2["messages"] = ordered_json::parse(plan2.messages_json);
  context2["add_generation_prompt"] = true;
  context2["bos_token"] = "<s>";
  context2["eos_token"] = "</s>";
  auto prompt2 = tmpl->render(context2);
  ASSERT_TRUE(prompt2) << c.file << ": " << prompt2.error();
  EXPECT_NE(prompt2->find("sunny"), std::string::npos) << c.file << " lost the result:\n" << *prompt2;
  EXPECT_NE(prompt2->find("Paris"), std::string::npos) << c.file << " lost the call:\n" << *prompt2;
}

// A client that keeps its own ids (another server's "call_..."): Mistral's template still renders.
TEST(MistralTemplate, GetsToolCallIdsItAccepts) {
  const std::string source = read_template("mistralai-Mistral-Nemo-Instruct-2407.jinja");
  auto tmpl = ChatTemplate::parse(source);
  ASSERT_TRUE(tmpl) << tmpl.error();
  const std::string messages = R"([{"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_abc123def456", "type": "function",
       "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_abc123def456", "content": "sunny"}])";
  ParsedRequest r = parse_chat_request(R"({"model": "m", "messages": )" + messages + ", \"tools\": " + kTools + "}");
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(r));
  const ChatPlan plan = std::get<ChatPlan>(plan_chat(std::get<CompletionRequest>(r), source));
  const ordered_json prepared = ordered_json::parse(plan.messages_json);
  const std::string id = prepared[1]["tool_calls"][0]["id"];
  EXPECT_EQ(id.size(), 9u);
  EXPECT_EQ(prepared[2]["tool_call_id"], id);  // the result still points at its call
  ordered_json context = ordered_json::parse(plan.template_vars_json);
  context["messages"] = prepared;
  context["add_generation_prompt"] = true;
  context["bos_token"] = "<s>";
  context["eos_token"] = "</s>";
  auto prompt = tmpl->render(context);
  ASSERT_TRUE(prompt) << prompt.error();
  EXPECT_NE(prompt->find(id), std::string::npos);
}

const char* kHermesReply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";

INSTANTIATE_TEST_SUITE_P(
    Families, ToolTemplates,
    testing::Values(Case{"Qwen-Qwen2.5-7B-Instruct.jinja", ToolCallFormat::kHermes, false, kHermesReply},
                    Case{"Qwen-Qwen3-0.6B.jinja", ToolCallFormat::kHermes, false,
                         "<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", "
                         "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"},
                    Case{"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", ToolCallFormat::kHermes, false, kHermesReply},
                    Case{"meta-llama-Llama-3.2-3B-Instruct.jinja", ToolCallFormat::kLlama3, false,
                         "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"},
                    Case{"meta-llama-Llama-3.3-70B-Instruct.jinja", ToolCallFormat::kLlama3, false,
                         "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}"},
                    Case{"mistralai-Mistral-Nemo-Instruct-2407.jinja", ToolCallFormat::kMistral, false,
                         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]"},
                    Case{"HuggingFaceTB-SmolLM2-135M-Instruct.jinja", ToolCallFormat::kHermes, true, kHermesReply},
                    Case{"google-gemma-3-it.jinja", ToolCallFormat::kHermes, true, kHermesReply},
                    Case{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", ToolCallFormat::kHermes, true, kHermesReply}),
    [](const testing::TestParamInfo<Case>& param) {
      std::string name = param.param.file;
      name = name.substr(0, name.find(".jinja"));
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace tandem::openai
