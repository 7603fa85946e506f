#pragma once
// A loaded model's tokenizer and chat template, apart from its weights: text and messages in,
// prompt token ids out. Immutable, so one instance may be used from many threads at once (beside
// Engine::step()), and shared, so a server can prepare requests with it while the model that
// made it is unloaded.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tandem {

class Tokenizer;
class ChatTemplate;

class PromptFormatter {
 public:
  // chat_template null: the model has none that works, and chat calls fail with template_error.
  PromptFormatter(std::shared_ptr<const Tokenizer> tokenizer, std::shared_ptr<const ChatTemplate> chat_template,
                  std::string bos_token, std::string eos_token, std::string template_error);

  const Tokenizer& tokenizer() const { return *tokenizer_; }

  // Tokenizes text the way a completion prompt is: BOS per the model, special tokens parsed.
  std::vector<int32_t> tokenize_prompt(std::string_view text) const;
  // Renders messages (OpenAI-style JSON array) through the chat template.
  // extra_vars_json: a JSON object of further template variables (tools, enable_thinking, ...).
  Result<std::string> apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                          const std::string& extra_vars_json = "{}") const;
  // The messages through the chat template, tokenized. Special-token text inside the messages
  // ("<|im_end|>" typed by a user) tokenizes as plain text unless special_tokens_in_content, so
  // only the template's own markup yields control tokens and a user cannot forge a turn.
  Result<std::vector<int32_t>> tokenize_chat(const std::string& messages_json, bool add_generation_prompt,
                                             bool special_tokens_in_content,
                                             const std::string& extra_vars_json = "{}") const;

 private:
  std::vector<int32_t> without_double_bos(std::vector<int32_t> tokens) const;

  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<const ChatTemplate> chat_template_;
  std::string bos_token_, eos_token_;
  std::string template_error_;
};

}  // namespace tandem
