#include "openai/chat_plan.h"

#include <memory>
#include <mutex>

#include "chat/chat_template.h"
#include "grammar/json_schema_to_grammar.h"
#include "openai/tool_calls/tool_prompt.h"

namespace tandem::openai {

using nlohmann::ordered_json;

namespace {

// One parsed template is kept: a server runs one model, whose template changes only on a reload.
std::shared_ptr<const ChatTemplate> parsed_template(std::string_view source) {
  static std::mutex mutex;
  static std::string cached_source;
  static std::shared_ptr<const ChatTemplate> cached;
  std::lock_guard lock(mutex);
  if (!cached || cached_source != source) {
    auto parsed = ChatTemplate::parse(source);
    cached = parsed ? std::make_shared<const ChatTemplate>(std::move(parsed).value()) : nullptr;
    cached_source = std::string(source);
  }
  return cached;
}

std::string trimmed_end(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// The text around one call in `format`, and the key its arguments go under.
struct CallShape {
  std::string_view opening, closing, arguments_key;
};

CallShape call_shape(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::kHermes: return {"<tool_call>\n", "\n</tool_call>", "arguments"};
    case ToolCallFormat::kLlama3: return {"", "", "parameters"};
    case ToolCallFormat::kMistral: return {"[TOOL_CALLS][", "]", "arguments"};
  }
  return {"<tool_call>\n", "\n</tool_call>", "arguments"};
}

// One call of a tool (of forced_name only, when set): {"name": <const>, "arguments": <its
// parameters' schema>} between the format's opening and closing.
std::variant<std::shared_ptr<const grammar::Grammar>, http::ApiError> forced_call_grammar(ToolCallFormat format,
                                                                                       const ToolRequest& tools) {
  const CallShape shape = call_shape(format);
  grammar::GrammarBuilder builder;
  grammar::JsonSchemaCompiler compiler(builder);
  std::vector<grammar::ExprPtr> calls;
  for (size_t i = 0; i < tools.tools.size(); ++i) {
    const ordered_json& function = tools.tools[i]["function"];
    const std::string name = function["name"].get<std::string>();
    if (!tools.forced_name.empty() && name != tools.forced_name) continue;
    const ordered_json parameters =
        function.contains("parameters") ? function["parameters"] : ordered_json{{"type", "object"}};
    ordered_json properties = ordered_json::object();
    properties["name"] = {{"const", name}};
    properties[std::string(shape.arguments_key)] = parameters;
    const ordered_json call = {{"type", "object"},
                               {"properties", properties},
                               {"required", {"name", shape.arguments_key}},
                               {"additionalProperties", false}};
    auto expr = compiler.compile(call);
    if (!expr) {
      const std::string param = "tools[" + std::to_string(i) + "].function.parameters";
      return http::invalid_request(param + " cannot be enforced for tool_choice \"" +
                                       (tools.forced_name.empty() ? "required" : "function") + "\": " + expr.error() +
                                       " (the schema is that of the whole call; its arguments are under #/properties/" +
                                       std::string(shape.arguments_key) + ")",
                                   param);
    }
    calls.push_back(*expr);
  }
  grammar::ExprPtr call = calls.size() == 1 ? calls[0] : grammar::choice(std::move(calls));
  auto built = std::move(builder).build(
      grammar::sequence({grammar::literal(shape.opening), call, grammar::literal(shape.closing)}));
  if (!built) return http::invalid_request("tools cannot be enforced as a grammar: " + built.error(), "tools");
  return *built;
}

}  // namespace

bool generation_prompt_opens_think(std::string_view source, const std::string& template_vars_json) {
  if (source.find(kThinkOpen) == std::string_view::npos) return false;
  const std::shared_ptr<const ChatTemplate> tmpl = parsed_template(source);
  if (!tmpl) return false;
  ordered_json context = ordered_json::parse(template_vars_json, nullptr, false);
  if (!context.is_object()) context = ordered_json::object();
  context["messages"] = ordered_json::array({{{"role", "user"}, {"content", "Hi"}}});
  context["add_generation_prompt"] = true;
  context["bos_token"] = "";
  context["eos_token"] = "";
  auto rendered = tmpl->render(context);
  return rendered && trimmed_end(*rendered).ends_with(kThinkOpen);
}

std::variant<ChatPlan, http::ApiError> plan_chat(const CompletionRequest& r, std::string_view template_source) {
  ChatPlan plan;
  ordered_json vars = ordered_json::parse(r.chat_template_kwargs_json, nullptr, false);
  if (!vars.is_object()) vars = ordered_json::object();
  const ToolRequest& tools = r.tools;
  std::string tool_prompt;
  bool forced = false;
  const bool template_has_tools = template_reads_tools(template_source);
  if (tools.calls_wanted()) {
    if (template_has_tools) {
      vars["tools"] = tools.tools;
    } else {
      tool_prompt = hermes_tool_prompt(tools.tools);
      plan.tool_prompt_injected = true;
    }
    const ToolCallFormat format =
        plan.tool_prompt_injected ? ToolCallFormat::kHermes : tool_call_format_for_template(template_source);
    plan.reply.tool_format = format;
    plan.visible_control_tokens = tool_call_markers(format);
    plan.reply.parallel_tool_calls = tools.parallel_tool_calls;
    forced = tools.choice == ToolChoice::kRequired || tools.choice == ToolChoice::kNamed;
    if (forced) {
      if (r.sampling.grammar) {
        return http::invalid_request(
            "response_format cannot be combined with tool_choice \"required\" or a named function: both decide "
            "the reply's form; leave one out",
            "response_format");
      }
      auto grammar = forced_call_grammar(format, tools);
      if (auto* error = std::get_if<http::ApiError>(&grammar)) return *error;
      plan.grammar = std::get<std::shared_ptr<const grammar::Grammar>>(grammar);
    }
  }
  const ordered_json messages = ordered_json::parse(r.messages_json, nullptr, false);
  ordered_json prepared =
      messages_for_template(messages.is_array() ? messages : ordered_json::array(), !template_has_tools, tool_prompt);
  if (template_has_tools && tool_call_format_for_template(template_source) == ToolCallFormat::kMistral) {
    mistral_tool_call_ids(prepared);
  }
  plan.messages_json = prepared.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  plan.template_vars_json = vars.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  plan.reply.starts_in_reasoning = generation_prompt_opens_think(template_source, plan.template_vars_json);
  // A forced call after a prompt that opened <think>: the reasoning is closed, empty, first.
  if (plan.reply.starts_in_reasoning && forced) plan.reply_prefix = std::string(kThinkClose) + "\n\n";
  return plan;
}

}  // namespace tandem::openai
