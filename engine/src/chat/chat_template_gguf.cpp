// Reading a model's chat template and its special-token texts out of GGUF metadata.

#include "chat/chat_template.h"
#include "gguf/gguf_reader.h"

namespace tandem {

namespace {

// The text of the token whose id is stored under `id_key`; empty when the key is absent.
Result<std::string> token_text(const gguf::GgufFile& file, const char* id_key) {
  const std::optional<int64_t> id = file.get_int(id_key);
  if (!id) return std::string();
  const gguf::Array* tokens = file.get_array("tokenizer.ggml.tokens");
  if (!tokens) return make_error(std::string("the model has ") + id_key + " but no tokenizer.ggml.tokens vocabulary");
  if (*id < 0 || static_cast<uint64_t>(*id) >= tokens->items.size()) {
    return make_error(std::string(id_key) + " " + std::to_string(*id) + " is outside the vocabulary of " +
                      std::to_string(tokens->items.size()) + " tokens");
  }
  const std::string* text = tokens->items[static_cast<size_t>(*id)].as_string();
  if (!text) return make_error("tokenizer.ggml.tokens holds a non-string entry at " + std::to_string(*id));
  return *text;
}

}  // namespace

Result<ChatTemplateSource> chat_template_from_gguf(const gguf::GgufFile& file) {
  std::optional<std::string> source = file.get_string("tokenizer.chat_template");
  if (!source) {
    return make_error("the model has no tokenizer.chat_template; give a template file (tandem template --template FILE)");
  }
  auto bos = token_text(file, "tokenizer.ggml.bos_token_id");
  if (!bos) return make_error(bos.error());
  auto eos = token_text(file, "tokenizer.ggml.eos_token_id");
  if (!eos) return make_error(eos.error());
  return ChatTemplateSource{std::move(*source), std::move(*bos), std::move(*eos)};
}

}  // namespace tandem
