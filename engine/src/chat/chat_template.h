#pragma once
// Chat templates: the Jinja programs that turn a list of messages into a model's prompt text.
// Rendering matches Hugging Face transformers' apply_chat_template byte for byte: jinja2 with
// trim_blocks and lstrip_blocks, the loopcontrols extension, a tojson that keeps key order and
// non-ASCII text, raise_exception() and strftime_now(). A template is parsed once and may then
// be rendered from any number of threads at the same time.
//
//   auto tmpl = ChatTemplate::parse(source);            // Result: syntax errors name the line
//   auto prompt = tmpl->render(nlohmann::ordered_json{
//       {"messages", messages}, {"add_generation_prompt", true},
//       {"bos_token", "<s>"}, {"eos_token", "</s>"}});
//
// Parse the request with nlohmann::ordered_json where you can: tool schemas printed with
// |tojson then keep the key order the client sent, as transformers does.

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace tandem {

namespace gguf {
class GgufFile;
}

struct ChatTemplateProgram;  // the parsed syntax tree

struct ChatTemplateRenderOptions {
  // The local time strftime_now() reports (Llama 3.x templates print today's date).
  // Unset: the system clock. Tests pin it to get reproducible prompts.
  std::optional<std::tm> now;
};

class ChatTemplate {
 public:
  // Fails with "chat template line N: ..." for syntax errors and for constructs outside the
  // supported Jinja subset (include, extends, recursive loops, unknown filters, ...).
  static Result<ChatTemplate> parse(std::string_view source);

  // `context` is a JSON object whose members become template variables: messages,
  // add_generation_prompt, bos_token, eos_token, tools, and any extra ones (enable_thinking,
  // ...). As in transformers, `tools` and `documents` default to none and
  // add_generation_prompt to false when absent. A template that calls raise_exception(msg)
  // fails with exactly msg; other failures read "chat template line N: ...".
  Result<std::string> render(const nlohmann::json& context, const ChatTemplateRenderOptions& options = {}) const;
  Result<std::string> render(const nlohmann::ordered_json& context,
                             const ChatTemplateRenderOptions& options = {}) const;

 private:
  explicit ChatTemplate(std::shared_ptr<const ChatTemplateProgram> program) : program_(std::move(program)) {}
  std::shared_ptr<const ChatTemplateProgram> program_;
};

// A GGUF model's template: tokenizer.chat_template plus the texts of its BOS and EOS tokens
// (from tokenizer.ggml.tokens), which templates print as bos_token and eos_token.
struct ChatTemplateSource {
  std::string source;
  std::string bos_token;  // empty when the model declares no BOS token
  std::string eos_token;  // empty when the model declares no EOS token
};

Result<ChatTemplateSource> chat_template_from_gguf(const gguf::GgufFile& file);

}  // namespace tandem
