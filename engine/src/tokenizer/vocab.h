#pragma once
// The vocabulary read from GGUF `tokenizer.ggml.*` metadata, shared (immutable) by every copy of
// a Tokenizer, and the three segmentation algorithms that work on it.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace tandem {

namespace gguf {
class GgufFile;
}

// Values of `tokenizer.ggml.token_type` (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Per-token attributes; a bit set because strip flags come on top of the type.
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 6,  // when matched in text, eat the white space before it
  kAttrRstrip = 1u << 7,  // ... and after it
};

// Hashing that lets unordered_map<std::string, ...> be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Special tokens indexed for finding them in text: one look-up per candidate length at each
// position whose byte starts some special token.
struct SpecialMatcher {
  struct Entry {
    int32_t id;
    int32_t priority;  // index in Vocab::special_tokens: lower is matched first
  };
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> by_text;
  std::array<std::vector<uint32_t>, 256> lengths;  // distinct lengths per first byte, longest first
};

struct Vocab {
  TokenizerModel model = TokenizerModel::kSentencePiece;
  PreTokenizer pre;  // byte-level BPE only

  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<uint32_t> attrs;  // TokenAttr bits
  TokenMap ids;                 // text -> id; for duplicate texts the last id wins, as in llama.cpp
  TokenMap merge_ranks;         // "left right" -> rank (byte-level BPE)
  // Control, user-defined and unknown tokens: the ones matched whole in text, longest first.
  std::vector<int32_t> special_tokens;
  SpecialMatcher special_all;   // parse_special: control, user-defined and unknown tokens
  SpecialMatcher special_user;  // otherwise: user-defined tokens only
  std::vector<bool> eog;                // end-of-generation flag per id
  std::array<int32_t, 256> byte_ids{};  // SentencePiece byte fallback (<0xXX>); -1 when missing
  size_t max_token_length = 0;          // bytes

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1, mask = -1;
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;           // WordPiece: [SEP] after the text
  bool add_space_prefix = false;  // SentencePiece: " " before the first word
  bool ignore_merges = false;

  int32_t find(std::string_view text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }
  bool valid(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < texts.size(); }
  bool has_attr(int32_t id, uint32_t attr) const { return valid(id) && (attrs[id] & attr) != 0; }
};

Result<Vocab> load_vocab(const gguf::GgufFile& file);

// Segmentation of one piece of raw text (no special tokens in it); ids are appended to `out`.
void spm_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);  // text has "▁"
void bpe_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);
void wpm_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

// GPT-2's byte-level alphabet: every byte as a printable code point (UTF-8), and back.
const std::string& byte_to_unicode(uint8_t byte);
// The byte a code point stands for, or -1 when it is not in the alphabet.
int byte_from_unicode(char32_t cp);

}  // namespace tandem
