#pragma once
// Pre-tokenizers for byte-level BPE: they cut text into words before merges, as the regular
// expressions of each model's tokenizer.json do. `tokenizer.ggml.pre` names the model family.
//
// Each family is a short pipeline of steps, as in llama.cpp: every step splits each current piece
// further, where its pattern matches and in the gaps between matches (the gaps are kept as pieces
// too). A step is one regex of the original, written as a hand-made scanner over code points with
// the regex's semantics (leftmost match, alternatives in order, greedy repeats, look-ahead confined
// to the piece). Categories are real Unicode ones (unicode.h); \s is White_Space.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem {

enum class PreStep : uint8_t {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2Words,
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kLlama3Words,
  kQwen2Words,  // as kLlama3Words with \p{N} (single digits)
  // [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?|
  // [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?|
  // \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kCasedWords,
  kTekkenWords,  // as kCasedWords without the contraction suffixes and with \p{N} (single digits)
  // [!-/:-@\[-`{-~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|
  // \s*[\r\n]+|\s+(?!\S)|\s+
  kDeepseekV3Words,
  kDigit,             // \p{N}
  kDigits3,           // \p{N}{1,3}
  kNumbers,           // \p{N}+
  kAsciiDigitTriple,  // [0-9][0-9][0-9]
  kPunctRun,          // [\p{P}\$\+<=>\^~\|]+
  kFalconPunctRun,    // [\p{P}\$\+<=>\^~\|`]+
  kNewline,           // [\r\n]
  kDeepseekLetters,   // \s?[A-Za-zµÀ-ÖØ-öø-ƺ...𞤀-𞥃]+  (cased letters, a fixed list of ranges)
  kDeepseekPunct,     // \s?[!-/:-~！-／：-～‘-‟　-。]+
  kTrailingSpace,     // \s+$
  kCjkRun,            // [一-龥ࠀ-一가-퟿]+
  kCjkKanaRun,        // [一-龥぀-ゟ゠-ヿ]+
  kSpaceLetters,      // \s?\p{L}+
  kSpacePunct,        // \s?\p{P}+
  kBloomWords,        //  ?[^(\s|.,!?…。，、।۔،)]+
  kChameleonSentinel,  // <sentinel:[0-9]+>
  kChameleonImage,     // (IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z
  kChameleonSpaces,    // ([\t\n]|    |  )
  kChameleonPunct,     // [\p{P}!-/:-@\[-`{-~]
};

struct PreTokenizer {
  std::string name;  // canonical family name, e.g. "llama3" for "llama-bpe"
  std::vector<PreStep> steps;
  bool ignore_merges = false;  // a word that is already a token is emitted whole (llama3, tekken)
  bool add_bos = false;        // default of add_bos_token for this family
  bool no_bos = false;         // the family has no BOS token (chatglm)
};

// The pre-tokenizer for a `tokenizer.ggml.pre` value; "" and "default" give the default pipeline.
// nullopt for a name this build does not know.
std::optional<PreTokenizer> find_pre_tokenizer(std::string_view name);

// Byte ranges [begin, end) of `text`, in order and covering it. Invalid UTF-8 bytes stay in the
// ranges as single "other" characters (neither letter, number nor space).
using ByteRange = std::pair<uint32_t, uint32_t>;
std::vector<ByteRange> pre_tokenize(const PreTokenizer& pre, std::string_view text);

}  // namespace tandem
