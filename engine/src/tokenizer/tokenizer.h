#pragma once
// Text <-> token ids for the vocabularies stored in GGUF metadata (`tokenizer.ggml.*`):
//   "llama" SentencePiece (bigram merges by score, byte fallback <0xXX>, "▁" for spaces),
//   "gpt2"  byte-level BPE (merges by rank) after a pre-tokenizer chosen by `tokenizer.ggml.pre`,
//   "bert"  WordPiece (lower-cased, accents stripped, longest match first).
// The behaviour follows llama.cpp's llama-vocab so that token ids match its test vectors exactly;
// the few deliberate differences are listed at the top of tokenizer.cpp (invalid UTF-8 is kept as
// bytes, decode() does no clean-up of spaces, an unknown pre-tokenizer name falls back to the
// default one with a warning).
//
// A Tokenizer is immutable after from_gguf() and cheap to copy (the vocabulary is shared), so one
// instance may be used from many threads at once.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tandem {

namespace gguf {
class GgufFile;
}

struct Vocab;

enum class TokenizerModel { kSentencePiece, kBytePairEncoding, kWordPiece };

// Bytes [begin, end) of a text.
struct TextRange {
  size_t begin = 0;
  size_t end = 0;
};

class Tokenizer {
 public:
  // Reads the vocabulary from `tokenizer.ggml.*`; the file may be closed afterwards.
  static Result<Tokenizer> from_gguf(const gguf::GgufFile& file);

  // add_special: BOS/EOS (CLS/SEP for WordPiece) as the model's add_bos/add_eos flags say.
  // parse_special: control tokens written in the text ("<|im_end|>") become their ids; user-defined
  // tokens are always matched whole, as in llama.cpp and Hugging Face's added vocabulary.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // encode() with parse_special, except that no control token is matched where it would overlap
  // a range of `plain` (sorted, disjoint): text from an untrusted source inside a trusted template
  // (a chat message inside its markup) then tokenizes as plain text, as it would alone.
  std::vector<int32_t> encode(std::string_view text, bool add_special, std::span<const TextRange> plain) const;
  // Where parse_special would see control tokens in `text` (user-defined tokens, matched in any
  // text, are not listed): leftmost, longest first, not overlapping.
  std::vector<TextRange> find_control_tokens(std::string_view text) const;

  // The text of one token: byte tokens give their raw byte (possibly half a UTF-8 character),
  // SentencePiece "▁" becomes " ". Control and unknown tokens give "" unless render_special.
  std::string token_to_piece(int32_t id, bool render_special = false) const;
  // The concatenated pieces, minus the space that SentencePiece's space prefix added in front of the
  // first word, so that decode(encode(x)) == x for lossless vocabularies.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  int32_t n_vocab() const;
  int32_t bos_id() const;  // -1 when absent
  int32_t eos_id() const;
  int32_t eot_id() const;
  int32_t unk_id() const;
  int32_t pad_id() const;
  int32_t sep_id() const;
  bool add_bos() const;
  bool add_eos() const;

  TokenizerModel model() const;
  const std::string& pre_tokenizer_name() const;  // the pre-tokenizer actually used ("default", "llama3", ...)

  bool is_end_of_generation(int32_t id) const;  // eos, eot, eom and tokens such as "<|im_end|>"
  bool is_control(int32_t id) const;
  bool is_byte(int32_t id) const;
  const std::string& token_text(int32_t id) const;  // raw vocab string; "" for an id out of range
  std::optional<int32_t> find_token(std::string_view text) const;

 private:
  explicit Tokenizer(std::shared_ptr<const Vocab> vocab) : vocab_(std::move(vocab)) {}
  std::shared_ptr<const Vocab> vocab_;
};

// Streams generated text while holding back an incomplete UTF-8 sequence (a multi-byte character
// split over byte tokens), so that every string it returns is valid UTF-8. Pieces are joined as
// they are (no space-prefix stripping): generation continues a prompt. Not thread-safe; one per
// sequence. The Tokenizer must outlive it.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tok, bool render_special = false)
      : tok_(&tok), render_special_(render_special) {}
  // Renders, besides normal tokens, the control tokens whose vocabulary text is one of
  // `visible_control_tokens` (a reply format's markers such as Mistral's "[TOOL_CALLS]", which a
  // parser must see); every other control token stays "". Texts that are no control token in this
  // vocabulary are ignored: a normal token is rendered anyway.
  StreamingDetokenizer(const Tokenizer& tok, std::span<const std::string> visible_control_tokens);

  std::string push(int32_t id);  // the complete UTF-8 text now available
  std::string flush();           // whatever is left; invalid or unfinished bytes become U+FFFD

 private:
  const Tokenizer* tok_;
  bool render_special_;
  std::vector<int32_t> visible_;  // control token ids rendered although render_special_ is false
  std::string pending_;  // bytes of an unfinished UTF-8 sequence
};

}  // namespace tandem
