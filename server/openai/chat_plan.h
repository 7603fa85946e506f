#pragma once
// What a chat request needs from the loaded model's chat template beyond its messages: the
// template variables (tools, chat_template_kwargs), the messages made ready for the template (tool
// prompt injected where the template ignores tools), the text the reply is made to start with
// (tool_choice "required" or a named function), and how to split the reply (reply_parser.h).

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/api_error.h"
#include "openai/completion_request.h"
#include "openai/reply_parser.h"

namespace tandem::openai {

struct ChatPlan {
  std::string messages_json;
  std::string template_vars_json = "{}";  // a JSON object: tools, the chat_template_kwargs
  // The reply's first bytes, appended to the prompt: the model continues them and the reply parser
  // reads them first. Forces the opening of a call when a call is required.
  std::string reply_prefix;
  ReplyOptions reply;
  // tool_choice "required" or a named function: the reply must be one well-formed call of the
  // tools' schemas, in the template's format (engine/src/grammar: masked while sampling).
  std::shared_ptr<const grammar::Grammar> grammar;
  bool tool_prompt_injected = false;  // the template ignores tools: the server's prompt describes them
  // The tool-call format's markers, when calls are parsed: shown in the reply even where the
  // vocabulary makes them control tokens (GenerationJob::visible_control_tokens).
  std::vector<std::string> visible_control_tokens;
};

// template_source: the chat template in use (server::ModelInfo::chat_template). Fails (400) when a
// forced call's schema has what the grammar cannot enforce, naming tools[i].function.parameters,
// or when response_format would constrain the same reply.
std::variant<ChatPlan, http::ApiError> plan_chat(const CompletionRequest& request, std::string_view template_source);

// True when the template's generation prompt, rendered with these variables, ends inside an open
// <think> (Qwen3 thinking, DeepSeek-R1): the reply then starts as reasoning.
bool generation_prompt_opens_think(std::string_view template_source, const std::string& template_vars_json);

}  // namespace tandem::openai
