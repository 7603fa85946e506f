#pragma once
// Tools and earlier calls in the prompt. A template that reads `tools` (Qwen, Llama 3.1, Mistral,
// Hermes) writes them itself; for one that ignores them (ChatML, SmolLM2), the server writes a
// Hermes-style tool prompt into the system message, as llama-server and Ollama do, and spells
// earlier calls and results as <tool_call> / <tool_response> text the template can show.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tandem::openai {

// True when the template's text mentions the `tools` variable.
bool template_reads_tools(std::string_view template_source);

// The system prompt that describes `tools` (an OpenAI tools array) and the <tool_call> format.
std::string hermes_tool_prompt(const nlohmann::ordered_json& tools);

// The validated messages made ready for the template:
// - an assistant message's tool_calls keep their ids, and each function.arguments string that
//   holds a JSON object becomes that object (templates print it with |tojson, as transformers
//   documents);
// - with calls_as_text (a template that ignores tools): calls are written into the assistant's
//   content as <tool_call> blocks, and tool results become user turns of <tool_response> blocks
//   (several results in a row share one turn), so the model sees them;
// - a non-empty tool_prompt is put before the system message's text (or in a new system message).
nlohmann::ordered_json messages_for_template(const nlohmann::ordered_json& messages, bool calls_as_text,
                                             const std::string& tool_prompt);

// Mistral's templates refuse a tool call id that is not 9 letters and digits: every other id in
// assistant tool_calls and tool messages' tool_call_id becomes one derived from it (the same id
// always gives the same, so a conversation's prompt stays the same from turn to turn).
void mistral_tool_call_ids(nlohmann::ordered_json& messages);

}  // namespace tandem::openai
