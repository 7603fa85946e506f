// StreamingDetokenizer: see tokenizer.h.

#include <algorithm>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace tandem {

namespace {

// Moves the complete part of `pending` to the result. An unfinished sequence at the very end is
// kept unless `final`; anything that can no longer become valid is replaced by U+FFFD.
std::string take_complete(std::string& pending, bool final) {
  std::string out;
  size_t pos = 0;
  while (pos < pending.size()) {
    size_t needed = 0;
    const size_t length = unicode::utf8_prefix_length(pending, pos, needed);
    if (length == needed) {
      out.append(pending, pos, length);
    } else if (!final && length > 0 && pos + length == pending.size()) {
      break;  // may be completed by the next token
    } else {
      unicode::append_utf8(out, unicode::kReplacement);
    }
    pos += std::max<size_t>(length, 1);
  }
  pending.erase(0, pos);
  return out;
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tok, std::span<const std::string> visible_control_tokens)
    : tok_(&tok), render_special_(false) {
  for (const std::string& text : visible_control_tokens) {
    const std::optional<int32_t> id = tok.find_token(text);
    if (id && tok.is_control(*id)) visible_.push_back(*id);
  }
}

std::string StreamingDetokenizer::push(int32_t id) {
  const bool visible = render_special_ || std::find(visible_.begin(), visible_.end(), id) != visible_.end();
  pending_ += tok_->token_to_piece(id, visible);
  return take_complete(pending_, false);
}

std::string StreamingDetokenizer::flush() { return take_complete(pending_, true); }

}  // namespace tandem
