#include "tandem/prompt_formatter.h"

#include <nlohmann/json.hpp>
#include <random>

#include "chat/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tandem {
namespace {

using nlohmann::ordered_json;

// Message text that holds control-token text is rendered with each such piece swapped for a
// marker the template passes through untouched; after rendering, the markers give the pieces back
// and say where they are, so that the tokenizer reads them as plain text. The nonce makes a
// marker that a client could type in advance impossible to guess.
class ControlTextMarkers {
 public:
  explicit ControlTextMarkers(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {
    std::random_device rd;
    prefix_ = std::string(kOpen) + std::to_string((static_cast<uint64_t>(rd()) << 32) | rd()) + "#";
  }

  // Marks the control-token text in every string value of `value`, recursively.
  void mark(ordered_json& value) {
    if (value.is_string()) {
      const std::string& text = value.get_ref<const std::string&>();
      const std::vector<TextRange> found = tokenizer_.find_control_tokens(text);
      if (found.empty()) return;
      std::string marked;
      size_t at = 0;
      for (const TextRange& r : found) {
        marked.append(text, at, r.begin - at);
        marked += prefix_ + std::to_string(pieces_.size()) + std::string(kClose);
        pieces_.push_back(text.substr(r.begin, r.end - r.begin));
        at = r.end;
      }
      marked.append(text, at, std::string::npos);
      value = std::move(marked);
    } else if (value.is_structured()) {
      for (auto& item : value) mark(item);
    }
  }

  bool any() const { return !pieces_.empty(); }

  // The rendered text with the pieces back in place, and where they are.
  std::string restore(std::string_view rendered, std::vector<TextRange>& plain) const {
    std::string out;
    out.reserve(rendered.size());
    size_t at = 0;
    while (true) {
      const size_t open = rendered.find(prefix_, at);
      if (open == std::string_view::npos) break;
      const size_t digits = open + prefix_.size();
      const size_t close = rendered.find(kClose, digits);
      size_t index = pieces_.size();
      if (close != std::string_view::npos && close > digits && close - digits < 10) {
        index = std::stoul(std::string(rendered.substr(digits, close - digits)));
      }
      if (index >= pieces_.size()) {  // not a whole marker: keep the text as it is
        out.append(rendered.substr(at, digits - at));
        at = digits;
        continue;
      }
      out.append(rendered.substr(at, open - at));
      plain.push_back({out.size(), out.size() + pieces_[index].size()});
      out += pieces_[index];
      at = close + kClose.size();
    }
    out.append(rendered.substr(at));
    return out;
  }

 private:
  // Private-use code points U+E000 and U+E001: no template or tokenizer gives them a meaning.
  static constexpr std::string_view kOpen = "\xEE\x80\x80";
  static constexpr std::string_view kClose = "\xEE\x80\x81";

  const Tokenizer& tokenizer_;
  std::string prefix_;
  std::vector<std::string> pieces_;
};

}  // namespace

PromptFormatter::PromptFormatter(std::shared_ptr<const Tokenizer> tokenizer,
                                 std::shared_ptr<const ChatTemplate> chat_template, std::string bos_token,
                                 std::string eos_token, std::string template_error)
    : tokenizer_(std::move(tokenizer)),
      chat_template_(std::move(chat_template)),
      bos_token_(std::move(bos_token)),
      eos_token_(std::move(eos_token)),
      template_error_(std::move(template_error)) {}

std::vector<int32_t> PromptFormatter::without_double_bos(std::vector<int32_t> tokens) const {
  // A chat template that writes the BOS text itself, on a model that also adds BOS, would give two.
  const int32_t bos = tokenizer_->bos_id();
  if (tokens.size() >= 2 && bos >= 0 && tokens[0] == bos && tokens[1] == bos) tokens.erase(tokens.begin());
  return tokens;
}

std::vector<int32_t> PromptFormatter::tokenize_prompt(std::string_view text) const {
  return without_double_bos(tokenizer_->encode(text, /*add_special=*/true, /*parse_special=*/true));
}

Result<std::string> PromptFormatter::apply_chat_template(const std::string& messages_json, bool add_generation_prompt,
                                                         const std::string& extra_vars_json) const {
  if (!chat_template_) return make_error(template_error_);
  // Ordered JSON keeps the client's key order, which templates print with |tojson.
  auto messages = ordered_json::parse(messages_json, nullptr, /*allow_exceptions=*/false);
  if (!messages.is_array()) return make_error("messages must be a JSON array");
  auto context = ordered_json::parse(extra_vars_json, nullptr, /*allow_exceptions=*/false);
  if (!context.is_object()) return make_error("template variables must be a JSON object");
  context["messages"] = std::move(messages);
  context["add_generation_prompt"] = add_generation_prompt;
  context["bos_token"] = bos_token_;
  context["eos_token"] = eos_token_;
  return chat_template_->render(context);
}

Result<std::vector<int32_t>> PromptFormatter::tokenize_chat(const std::string& messages_json,
                                                            bool add_generation_prompt, bool special_tokens_in_content,
                                                            const std::string& extra_vars_json) const {
  if (special_tokens_in_content) {
    auto rendered = apply_chat_template(messages_json, add_generation_prompt, extra_vars_json);
    if (!rendered) return Error{rendered.error()};
    return tokenize_prompt(*rendered);
  }
  auto messages = ordered_json::parse(messages_json, nullptr, /*allow_exceptions=*/false);
  if (!messages.is_array()) return make_error("messages must be a JSON array");
  ControlTextMarkers markers(*tokenizer_);
  markers.mark(messages);
  auto rendered = apply_chat_template(
      markers.any() ? messages.dump(-1, ' ', false, ordered_json::error_handler_t::replace) : messages_json, add_generation_prompt,
                                      extra_vars_json);
  if (!rendered) return Error{rendered.error()};
  if (!markers.any()) return tokenize_prompt(*rendered);
  std::vector<TextRange> plain;
  const std::string text = markers.restore(*rendered, plain);
  return without_double_bos(tokenizer_->encode(text, /*add_special=*/true, plain));
}

}  // namespace tandem
