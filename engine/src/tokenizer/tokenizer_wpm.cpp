// WordPiece (BERT) as llama.cpp runs it from GGUF: lower-case and strip accents (NFD's first code
// point), split on white space and around punctuation and CJK characters, then cover each word
// greedily with the longest vocabulary entries. GGUF stores word-initial pieces with a "▁"
// prefix and continuation pieces bare (BERT's "##" removed), so a word is looked up as "▁word".
// A word that cannot be covered becomes one [UNK].

#include <algorithm>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace tandem {

namespace {

// BERT's definition of CJK (the CJK Unified Ideographs blocks), including its 0x2B920 quirk.
bool is_chinese_char(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  unicode::decode(text, cps, offsets);
  std::vector<std::string> words(1);
  for (char32_t raw : cps) {
    const char32_t cp = unicode::nfd_first(raw);
    if (unicode::is_whitespace(cp)) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    // Invalid bytes decode to escaped surrogates, which are control characters: dropped.
    if (cp == 0 || cp == unicode::kReplacement || unicode::is_control(cp)) continue;
    std::string s;
    unicode::append_utf8(s, unicode::to_lower(cp));
    if (unicode::is_punctuation(cp) || (cp < 0x7F && unicode::is_symbol(cp)) || is_chinese_char(cp)) {
      if (!words.back().empty()) words.emplace_back();
      words.back() = std::move(s);
      words.emplace_back();
    } else {
      words.back() += s;
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

void wpm_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  for (const std::string& word : split_words(text)) {
    const std::string prefixed = "\xE2\x96\x81" + word;  // "▁"
    const std::string_view w = prefixed;
    const size_t start = out.size();
    bool covered = true;
    for (size_t i = 0; i < w.size() && covered;) {
      covered = false;
      for (size_t j = std::min(w.size(), i + vocab.max_token_length); j > i; --j) {
        if (const int32_t id = vocab.find(w.substr(i, j - i)); id >= 0) {
          out.push_back(id);
          i = j;
          covered = true;
          break;
        }
      }
    }
    if (!covered) out.resize(start);
    if (out.size() == start && vocab.unk >= 0) out.push_back(vocab.unk);
  }
}

}  // namespace tandem
