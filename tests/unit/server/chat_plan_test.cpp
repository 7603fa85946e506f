// How a chat request meets the chat template: tools passed to a template that reads them, or the
// Hermes tool prompt injected where it does not (SmolLM2's ChatML); earlier calls and results
// rendered back; the reply format chosen from the template; forced calls as grammars; a
// generation prompt that opens <think>.

#include "openai/chat_plan.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "chat/chatml_template.h"

namespace tandem::openai {
namespace {

using nlohmann::ordered_json;

const std::string kWeather = R"({"type": "function", "function": {"name": "get_weather", "description": "Weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
    "required": ["city"]}}})";

// A Qwen2.5-like template: tools in the system turn, calls as <tool_call> with |tojson arguments.
const std::string kQwenLike =
    "{%- if tools %}<|im_start|>system\n# Tools\n{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}"
    "<|im_end|>\n{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' and message.tool_calls %}<|im_start|>assistant\n"
    "{%- for call in message.tool_calls %}<tool_call>\n{\"name\": \"{{ call.function.name }}\", \"arguments\": "
    "{{ call.function.arguments | tojson }}}\n</tool_call>{%- endfor %}<|im_end|>\n"
    "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{%- endif %}"
    "{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}";

const std::string kLlama3Like = "{%- if tools %}{{ tools | tojson }}{%- endif %}<|python_tag|>{{ messages[0].content }}";

const std::string kHistory = R"([{"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"C\"}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "18"}])";

CompletionRequest request(const std::string& extra, const std::string& messages = R"([{"role": "user", "content": "hi"}])") {
  ParsedRequest p = parse_chat_request(R"({"model": "m", "messages": )" + messages + extra + "}");
  if (auto* e = std::get_if<http::ApiError>(&p)) ADD_FAILURE() << e->message;
  return std::get<CompletionRequest>(p);
}

ChatPlan plan(const CompletionRequest& r, std::string_view source) {
  auto planned = plan_chat(r, source);
  if (auto* e = std::get_if<http::ApiError>(&planned)) ADD_FAILURE() << e->message;
  return std::get<ChatPlan>(planned);
}

std::string render(std::string_view source, const ChatPlan& p) {
  auto tmpl = ChatTemplate::parse(source);
  EXPECT_TRUE(tmpl) << tmpl.error();
  ordered_json context = ordered_json::parse(p.template_vars_json);
  context["messages"] = ordered_json::parse(p.messages_json);
  context["add_generation_prompt"] = true;
  auto text = tmpl->render(context);
  EXPECT_TRUE(text) << text.error();
  return text ? *text : "";
}

TEST(ChatPlan, InjectsTheToolPromptWhereTheTemplateIgnoresTools) {
  const ChatPlan p = plan(request(", \"tools\": [" + kWeather + "]"), kChatmlTemplate);
  EXPECT_TRUE(p.tool_prompt_injected);
  EXPECT_EQ(p.reply.tool_format, ToolCallFormat::kHermes);
  EXPECT_EQ(p.template_vars_json, "{}");
  EXPECT_EQ(p.grammar, nullptr);
  const std::string prompt = render(kChatmlTemplate, p);
  EXPECT_TRUE(prompt.starts_with("<|im_start|>system\n# Tools\n")) << prompt;
  // The tool as sent, key order kept.
  EXPECT_NE(prompt.find(R"("properties":{"city":{"type":"string"},"unit":{"type":"string"}})"), std::string::npos)
      << prompt;
  EXPECT_NE(prompt.find("<|im_start|>user\nhi<|im_end|>"), std::string::npos);
}

TEST(ChatPlan, AnInjectedPromptGoesBeforeTheSystemText) {
  const ChatPlan p = plan(request(", \"tools\": [" + kWeather + "]",
                                  R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])"),
                          kChatmlTemplate);
  const ordered_json messages = ordered_json::parse(p.messages_json);
  ASSERT_EQ(messages.size(), 2u);
  const std::string system = messages[0]["content"];
  EXPECT_TRUE(system.starts_with("# Tools")) << system;
  EXPECT_TRUE(system.ends_with("</tool_call>\n\nBe brief.")) << system;
}

TEST(ChatPlan, CallsAndResultsAsTextForATemplateWithoutTools) {
  const ChatPlan p = plan(request(", \"tools\": [" + kWeather + "], \"tool_choice\": \"none\"", kHistory), kChatmlTemplate);
  EXPECT_FALSE(p.reply.tool_format);
  EXPECT_FALSE(p.tool_prompt_injected);
  const std::string prompt = render(kChatmlTemplate, p);
  EXPECT_NE(prompt.find("<|im_start|>assistant\n<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\","
                        "\"unit\":\"C\"}}\n</tool_call><|im_end|>"),
            std::string::npos)
      << prompt;
  EXPECT_NE(prompt.find("<|im_start|>user\n<tool_response>\n18\n</tool_response><|im_end|>"), std::string::npos) << prompt;
}

TEST(ChatPlan, ATemplateThatReadsToolsGetsThemAndObjectArguments) {
  const ChatPlan p = plan(request(", \"tools\": [" + kWeather + "]", kHistory), kQwenLike);
  EXPECT_FALSE(p.tool_prompt_injected);
  EXPECT_EQ(p.reply.tool_format, ToolCallFormat::kHermes);
  const std::string prompt = render(kQwenLike, p);
  EXPECT_TRUE(prompt.starts_with("<|im_start|>system\n# Tools{\"type\": \"function\", \"function\": {\"name\"")) << prompt;
  // Arguments printed as the object, not as a string of JSON quoted again.
  EXPECT_NE(prompt.find(R"("arguments": {"city": "Paris", "unit": "C"}})"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("<|im_start|>tool\n18<|im_end|>"), std::string::npos) << prompt;
}

TEST(ChatPlan, ForcedCallsBecomeGrammars) {
  EXPECT_NE(plan(request(", \"tools\": [" + kWeather + "], \"tool_choice\": \"required\""), kChatmlTemplate).grammar,
            nullptr);
  const ChatPlan named = plan(request(", \"tools\": [" + kWeather +
                                      R"(], "tool_choice": {"type": "function", "function": {"name": "get_weather"}})"),
                              kLlama3Like);
  EXPECT_EQ(named.reply.tool_format, ToolCallFormat::kLlama3);
  EXPECT_NE(named.grammar, nullptr);
  EXPECT_EQ(plan(request(", \"tools\": [" + kWeather + "]"), kChatmlTemplate).grammar, nullptr);  // auto
}

TEST(ChatPlan, ASchemaTheGrammarCannotEnforceIsRefused) {
  const std::string tool = R"({"type": "function", "function": {"name": "f", "parameters": {"type": "object",
      "properties": {"x": {"not": {"type": "string"}}}}}})";
  auto planned = plan_chat(request(", \"tools\": [" + kWeather + ", " + tool + "], \"tool_choice\": \"required\""),
                           kChatmlTemplate);
  auto* e = std::get_if<http::ApiError>(&planned);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->param, "tools[1].function.parameters");
  EXPECT_NE(e->message.find("not"), std::string::npos) << e->message;
}

TEST(ChatPlan, ResponseFormatBesideAForcedCallIsRefused) {
  auto planned = plan_chat(request(", \"tools\": [" + kWeather +
                                   R"(], "tool_choice": "required", "response_format": {"type": "json_object"})"),
                           kChatmlTemplate);
  auto* e = std::get_if<http::ApiError>(&planned);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->param, "response_format");
}

TEST(ChatPlan, AGenerationPromptThatOpensThink) {
  const std::string qwen3_like =
      "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}"
      "{%- if add_generation_prompt %}<|im_start|>assistant\n"
      "{%- if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{%- else %}<think>\n"
      "{%- endif %}{%- endif %}";
  EXPECT_TRUE(plan(request(""), qwen3_like).reply.starts_in_reasoning);
  EXPECT_FALSE(plan(request(R"(, "chat_template_kwargs": {"enable_thinking": false})"), qwen3_like).reply.starts_in_reasoning);
  EXPECT_FALSE(plan(request(""), kChatmlTemplate).reply.starts_in_reasoning);
  // A forced call closes the opened thinking first.
  const ChatPlan forced = plan(request(", \"tools\": [" + kWeather + "], \"tool_choice\": \"required\""), qwen3_like);
  EXPECT_TRUE(forced.reply.starts_in_reasoning);
  EXPECT_EQ(forced.reply_prefix, "</think>\n\n");
}

// The format's markers are asked to be shown (vocabularies may hold them as control tokens, which
// give no text otherwise), and only when calls are parsed.
TEST(ChatPlan, ShowsTheFormatsMarkersOnlyWhenCallsAreParsed) {
  const std::string mistral_like =
      "{%- if tools %}[AVAILABLE_TOOLS]{{ tools | tojson }}[/AVAILABLE_TOOLS]{%- endif %}"
      "{%- for message in messages %}{%- if message.tool_calls %}[TOOL_CALLS]{{ message.tool_calls | tojson }}"
      "{%- else %}[INST]{{ message.content }}[/INST]{%- endif %}{%- endfor %}";
  const std::string tools = ", \"tools\": [" + kWeather + "]";
  const ChatPlan mistral = plan(request(tools), mistral_like);
  EXPECT_EQ(mistral.reply.tool_format, ToolCallFormat::kMistral);
  EXPECT_EQ(mistral.visible_control_tokens, (std::vector<std::string>{"[TOOL_CALLS]", "[ARGS]"}));
  EXPECT_EQ(plan(request(tools), kLlama3Like).visible_control_tokens, std::vector<std::string>{"<|python_tag|>"});
  EXPECT_EQ(plan(request(tools), kQwenLike).visible_control_tokens,
            (std::vector<std::string>{"<tool_call>", "</tool_call>"}));
  EXPECT_TRUE(plan(request(""), mistral_like).visible_control_tokens.empty());
  EXPECT_TRUE(plan(request(tools + ", \"tool_choice\": \"none\""), mistral_like).visible_control_tokens.empty());
}

TEST(ChatPlan, KwargsBecomeTemplateVariables) {
  const ChatPlan p = plan(request(R"(, "chat_template_kwargs": {"enable_thinking": false, "x": [1]})"), kChatmlTemplate);
  EXPECT_EQ(ordered_json::parse(p.template_vars_json), ordered_json::parse(R"({"enable_thinking": false, "x": [1]})"));
}

}  // namespace
}  // namespace tandem::openai
