#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <array>
#include <initializer_list>

#include "tokenizer/unicode.h"

namespace tandem {

namespace {

using unicode::is_letter;
using unicode::is_number;
using unicode::is_whitespace;

// Code point "outside the piece": matches no class, so look-ahead past the end sees nothing.
constexpr char32_t kNone = 0xFFFFFFFF;
constexpr size_t kNoMatch = static_cast<size_t>(-1);

struct CodepointRange {
  char32_t first;
  char32_t last;
};

// Cased letters as listed by DeepSeek-LLM's tokenizer.json (its second split pattern).
constexpr CodepointRange kDeepseekLetterRanges[] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},       {0xD8, 0xF6},
    {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},     {0x295, 0x2AF},     {0x370, 0x373},
    {0x376, 0x377},     {0x37B, 0x37D},     {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},
    {0x38C, 0x38C},     {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},   {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},   {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},   {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},   {0xA680, 0xA69B},   {0xA722, 0xA76F},
    {0xA771, 0xA787},   {0xA78B, 0xA78E},   {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
// [!-/:-~！-／：-～‘-‟　-。]
constexpr CodepointRange kDeepseekPunctRanges[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};
// [一-龥ࠀ-一가-퟿]
constexpr CodepointRange kCjkRanges[] = {{0x800, 0x4E00}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7FF}};
// [一-龥぀-ゟ゠-ヿ]
constexpr CodepointRange kCjkKanaRanges[] = {{0x3040, 0x309F}, {0x30A0, 0x30FF}, {0x4E00, 0x9FA5}};

template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], char32_t cp) {
  // The original patterns are literal character classes that llama.cpp matches after replacing
  // non-ASCII white space with U+000B, so white space never belongs to them (U+3000 included).
  if (is_whitespace(cp)) return false;
  for (const CodepointRange& r : ranges) {
    if (cp >= r.first && cp <= r.last) return true;
  }
  return false;
}

bool is_newline(char32_t c) { return c == '\r' || c == '\n'; }
bool is_ascii_alpha(char32_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_ascii_digit(char32_t c) { return c >= '0' && c <= '9'; }
// [!-/:-@\[-`{-~]: printable ASCII that is neither a letter, a digit nor a space.
bool is_ascii_punct(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}
// [^\s\p{L}\p{N}]
bool is_other(char32_t c) { return c != kNone && !is_whitespace(c) && !is_letter(c) && !is_number(c); }
bool is_one_of(char32_t c, std::initializer_list<char32_t> set) {
  return std::find(set.begin(), set.end(), c) != set.end();
}

// One piece of text being scanned; at(i) is kNone past its end.
struct Piece {
  const char32_t* c;
  size_t n;
  char32_t at(size_t i) const { return i < n ? c[i] : kNone; }
};

template <typename Pred>
size_t run(const Piece& s, size_t i, Pred pred) {
  while (i < s.n && pred(s.c[i])) ++i;
  return i;
}

// Length of the run of numbers at pos, at most max_len (\p{N}{1,max_len}); bounded so that a long
// run of digits costs linear time.
size_t number_run(const Piece& s, size_t pos, size_t max_len) {
  size_t i = pos;
  while (i < s.n && i - pos < max_len && is_number(s.c[i])) ++i;
  return i - pos;
}

// 's|'t|'re|'ve|'m|'ll|'d at pos; length matched or 0. any_case: the (?i:...) form.
size_t match_contraction(const Piece& s, size_t pos, bool any_case) {
  if (s.at(pos) != '\'') return 0;
  const auto low = [&](char32_t c) { return any_case && c >= 'A' && c <= 'Z' ? c + 32 : c; };
  const char32_t a = low(s.at(pos + 1));
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  const char32_t b = low(s.at(pos + 2));
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// \s*[\r\n]+|\s+(?!\S)|\s+ at pos (with_newlines) or just \s+(?!\S)|\s+.
size_t match_spaces(const Piece& s, size_t pos, bool with_newlines) {
  const size_t end = run(s, pos, is_whitespace);
  const size_t k = end - pos;
  if (k == 0) return 0;
  if (with_newlines) {
    for (size_t i = end; i > pos; --i) {
      if (is_newline(s.c[i - 1])) return i - pos;
    }
  }
  if (end == s.n) return k;  // nothing follows: (?!\S) holds for the whole run
  return k > 1 ? k - 1 : k;  // leave the last space to prefix the next word; a lone one is \s+
}

// ' ?X+' followed by `tail`*, where X is `cls`.
template <typename Cls, typename Tail>
size_t match_space_run(const Piece& s, size_t pos, Cls cls, Tail tail) {
  const size_t start = s.c[pos] == ' ' && cls(s.at(pos + 1)) ? pos + 1 : pos;
  if (!cls(s.at(start))) return 0;
  return run(s, run(s, start, cls), tail) - pos;
}

const auto kNoTail = [](char32_t) { return false; };

size_t match_gpt2_word(const Piece& s, size_t pos) {
  if (size_t n = match_contraction(s, pos, false)) return n;
  if (size_t n = match_space_run(s, pos, is_letter, kNoTail)) return n;
  if (size_t n = match_space_run(s, pos, is_number, kNoTail)) return n;
  if (size_t n = match_space_run(s, pos, is_other, kNoTail)) return n;
  return match_spaces(s, pos, false);
}

size_t match_llama3_word(const Piece& s, size_t pos, size_t max_digits) {
  if (size_t n = match_contraction(s, pos, true)) return n;
  const char32_t c = s.c[pos];
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (is_letter(c)) return run(s, pos, is_letter) - pos;
  if (!is_newline(c) && !is_number(c) && is_letter(s.at(pos + 1))) return run(s, pos + 1, is_letter) - pos;
  // \p{N}{1,max_digits}
  if (is_number(c)) return number_run(s, pos, max_digits);
  if (size_t n = match_space_run(s, pos, is_other, is_newline)) return n;
  return match_spaces(s, pos, true);
}

// The cased-word pattern of GPT-4o (o200k) and Tekken: an optional non-letter prefix, then either
// "upper* lower+" or "upper+ lower*", where marks and caseless letters count as both.
size_t match_cased_word(const Piece& s, size_t pos, size_t max_digits, bool contractions) {
  const char32_t c = s.c[pos];
  const auto is_prefix = [](char32_t x) { return x != kNone && !is_newline(x) && !is_letter(x) && !is_number(x); };
  const auto upper_lower = [&](size_t start) -> size_t {  // [U]*[L]+ with backtracking into U*
    const size_t i = run(s, start, unicode::is_upper_like);
    for (size_t k = i + 1; k-- > start;) {
      if (unicode::is_lower_like(s.at(k))) return run(s, k, unicode::is_lower_like);
    }
    return kNoMatch;
  };
  const auto upper_then_lower = [&](size_t start) -> size_t {  // [U]+[L]*
    const size_t i = run(s, start, unicode::is_upper_like);
    return i == start ? kNoMatch : run(s, i, unicode::is_lower_like);
  };
  for (int alt = 0; alt < 2; ++alt) {
    const auto try_at = [&](size_t start) { return alt == 0 ? upper_lower(start) : upper_then_lower(start); };
    size_t end = is_prefix(c) ? try_at(pos + 1) : kNoMatch;
    if (end == kNoMatch) end = try_at(pos);
    if (end != kNoMatch) {
      if (contractions) end += match_contraction(s, end, true);
      return end - pos;
    }
  }
  if (is_number(c)) return number_run(s, pos, max_digits);
  if (size_t n = match_space_run(s, pos, is_other, [](char32_t x) { return is_newline(x) || x == '/'; })) return n;
  return match_spaces(s, pos, true);
}

size_t match_deepseek_v3_word(const Piece& s, size_t pos) {
  const char32_t c = s.c[pos];
  if (is_ascii_punct(c) && is_ascii_alpha(s.at(pos + 1))) return run(s, pos + 1, is_ascii_alpha) - pos;
  const auto letter_or_mark = [](char32_t x) { return is_letter(x) || unicode::is_mark(x); };
  const bool prefix = c != kNone && !is_newline(c) && !is_letter(c) && !unicode::is_punctuation(c) &&
                      !unicode::is_symbol(c);
  if (prefix && letter_or_mark(s.at(pos + 1))) return run(s, pos + 1, letter_or_mark) - pos;
  if (letter_or_mark(c)) return run(s, pos, letter_or_mark) - pos;
  const auto punct_or_symbol = [](char32_t x) { return unicode::is_punctuation(x) || unicode::is_symbol(x); };
  if (size_t n = match_space_run(s, pos, punct_or_symbol, is_newline)) return n;
  return match_spaces(s, pos, true);
}

// \s?X+
template <typename Cls>
size_t match_optional_space_run(const Piece& s, size_t pos, Cls cls) {
  const char32_t c = s.c[pos];
  if (is_whitespace(c) && cls(s.at(pos + 1))) return run(s, pos + 1, cls) - pos;
  return cls(c) ? run(s, pos, cls) - pos : 0;
}

size_t match_literal(const Piece& s, size_t pos, std::u32string_view lit) {
  if (s.n - pos < lit.size()) return 0;
  for (size_t i = 0; i < lit.size(); ++i) {
    if (s.c[pos + i] != lit[i]) return 0;
  }
  return lit.size();
}

// Length of the match of `step` starting exactly at pos (< s.n); 0 when it does not match there.
size_t match_at(PreStep step, const Piece& s, size_t pos) {
  const char32_t c = s.c[pos];
  switch (step) {
    case PreStep::kGpt2Words: return match_gpt2_word(s, pos);
    case PreStep::kLlama3Words: return match_llama3_word(s, pos, 3);
    case PreStep::kQwen2Words: return match_llama3_word(s, pos, 1);
    case PreStep::kCasedWords: return match_cased_word(s, pos, 3, true);
    case PreStep::kTekkenWords: return match_cased_word(s, pos, 1, false);
    case PreStep::kDeepseekV3Words: return match_deepseek_v3_word(s, pos);
    case PreStep::kDigit: return is_number(c) ? 1 : 0;
    case PreStep::kDigits3: return number_run(s, pos, 3);
    case PreStep::kNumbers: return run(s, pos, is_number) - pos;
    case PreStep::kAsciiDigitTriple:
      return is_ascii_digit(c) && is_ascii_digit(s.at(pos + 1)) && is_ascii_digit(s.at(pos + 2)) ? 3 : 0;
    case PreStep::kPunctRun:
      return run(s, pos, [](char32_t x) {
               return unicode::is_punctuation(x) || is_one_of(x, {'$', '+', '<', '=', '>', '^', '~', '|'});
             }) - pos;
    case PreStep::kFalconPunctRun:
      return run(s, pos, [](char32_t x) {
               return unicode::is_punctuation(x) || is_one_of(x, {'$', '+', '<', '=', '>', '^', '~', '|', '`'});
             }) - pos;
    case PreStep::kNewline: return is_newline(c) ? 1 : 0;
    case PreStep::kDeepseekLetters:
      return match_optional_space_run(s, pos, [](char32_t x) { return in_ranges(kDeepseekLetterRanges, x); });
    case PreStep::kDeepseekPunct:
      return match_optional_space_run(s, pos, [](char32_t x) { return in_ranges(kDeepseekPunctRanges, x); });
    case PreStep::kTrailingSpace: return 0;  // searched for directly in find_match
    case PreStep::kCjkRun: return run(s, pos, [](char32_t x) { return in_ranges(kCjkRanges, x); }) - pos;
    case PreStep::kCjkKanaRun: return run(s, pos, [](char32_t x) { return in_ranges(kCjkKanaRanges, x); }) - pos;
    case PreStep::kSpaceLetters: return match_optional_space_run(s, pos, is_letter);
    case PreStep::kSpacePunct: return match_optional_space_run(s, pos, unicode::is_punctuation);
    case PreStep::kBloomWords:
      return match_space_run(
          s, pos,
          [](char32_t x) {
            return x != kNone && !is_whitespace(x) &&
                   !is_one_of(x, {'(', '|', '.', ',', '!', '?', 0x2026, 0x3002, 0xFF0C, 0x3001, 0x0964, 0x06D4,
                                  0x060C, ')'});
          },
          kNoTail);
    case PreStep::kChameleonSentinel: {
      const size_t n = match_literal(s, pos, U"<sentinel:");
      if (n == 0) return 0;
      const size_t digits_end = run(s, pos + n, is_ascii_digit);
      if (digits_end == pos + n || s.at(digits_end) != '>') return 0;
      return digits_end + 1 - pos;
    }
    case PreStep::kChameleonImage: {
      const size_t n = match_literal(s, pos, U"IMGIMG");
      if (n == 0) return 0;
      size_t i = pos + n;
      while (i < s.n && i - (pos + n) < 4 && s.c[i] >= 'A' && s.c[i] <= 'I') ++i;
      if (i == pos + n || s.at(i) != 'Z') return 0;
      return i + 1 - pos;
    }
    case PreStep::kChameleonSpaces:
      if (c == '\t' || c == '\n') return 1;
      if (size_t n = match_literal(s, pos, U"    ")) return n;
      return match_literal(s, pos, U"  ");
    case PreStep::kChameleonPunct: return unicode::is_punctuation(c) || is_ascii_punct(c) ? 1 : 0;
  }
  return 0;
}

struct Match {
  size_t begin;
  size_t length;
};

// The leftmost match at or after `from`, as a regex search would find it; length 0 when none.
Match find_match(PreStep step, const Piece& s, size_t from) {
  if (step == PreStep::kTrailingSpace) {  // \s+$: the white space that ends the piece
    size_t begin = s.n;
    while (begin > from && is_whitespace(s.c[begin - 1])) --begin;
    return {begin, s.n - begin};
  }
  for (size_t pos = from; pos < s.n; ++pos) {
    if (size_t n = match_at(step, s, pos)) return {pos, n};
  }
  return {s.n, 0};
}

struct Family {
  std::initializer_list<std::string_view> names;  // the first is the canonical one
  std::initializer_list<PreStep> steps;
  bool ignore_merges = false;
  bool add_bos = false;
  bool no_bos = false;
};

using P = PreStep;
// The families of llama.cpp's llama-vocab (same `tokenizer.ggml.pre` names), each with the
// split patterns of the original tokenizer.json.
const Family kFamilies[] = {
    {{"default", ""}, {P::kPunctRun, P::kGpt2Words, P::kNumbers, P::kAsciiDigitTriple}},
    {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
     {P::kLlama3Words},
     true,
     true},
    {{"dbrx", "smaug-bpe"}, {P::kLlama3Words}},
    {{"chatglm-bpe", "glm4"}, {P::kLlama3Words}, false, false, true},
    {{"deepseek-llm"},
     {P::kNewline, P::kDeepseekLetters, P::kDeepseekPunct, P::kTrailingSpace, P::kCjkRun, P::kNumbers}},
    {{"deepseek-coder"}, {P::kNewline, P::kSpaceLetters, P::kSpacePunct, P::kCjkRun, P::kDigit}},
    {{"deepseek-v3", "hunyuan-dense"}, {P::kDigits3, P::kCjkKanaRun, P::kDeepseekV3Words}},
    {{"falcon"}, {P::kFalconPunctRun, P::kGpt2Words, P::kAsciiDigitTriple}},
    {{"gpt-2", "mpt", "olmo", "jais", "trillion", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en",
      "jina-v2-es", "jina-v2-de", "jina-v2-code", "roberta-bpe", "a.x-4.0", "mellum", "exaone4",
      "granite-docling"},
     {P::kGpt2Words}},
    {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
     {P::kDigit, P::kGpt2Words}},
    {{"qwen2", "deepseek-r1-qwen", "kormo", "megrez", "stablelm2", "hunyuan", "grok-2"}, {P::kQwen2Words}},
    {{"bloom", "poro-chat", "gpt3-finnish"}, {P::kBloomWords}},
    {{"viking"}, {P::kBloomWords, P::kDigit}},
    {{"tekken"}, {P::kTekkenWords}, true, true},
    {{"chameleon"},
     {P::kChameleonSentinel, P::kChameleonImage, P::kChameleonSpaces, P::kDigit, P::kChameleonPunct,
      P::kGpt2Words},
     false,
     true},
    {{"gpt-4o", "llama4", "minimax-m2"}, {P::kCasedWords}},
};

}  // namespace

std::optional<PreTokenizer> find_pre_tokenizer(std::string_view name) {
  for (const Family& family : kFamilies) {
    for (std::string_view n : family.names) {
      if (n != name) continue;
      PreTokenizer out;
      out.name = std::string(*family.names.begin());
      out.steps.assign(family.steps.begin(), family.steps.end());
      out.ignore_merges = family.ignore_merges;
      out.add_bos = family.add_bos;
      out.no_bos = family.no_bos;
      return out;
    }
  }
  return std::nullopt;
}

std::vector<ByteRange> pre_tokenize(const PreTokenizer& pre, std::string_view text) {
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  unicode::decode(text, cps, offsets);

  // Pieces as [begin, end) indices into cps; each step refines them.
  std::vector<std::pair<size_t, size_t>> pieces;
  if (!cps.empty()) pieces.emplace_back(0, cps.size());
  std::vector<std::pair<size_t, size_t>> next;
  for (PreStep step : pre.steps) {
    next.clear();
    for (const auto& [begin, end] : pieces) {
      const Piece s{cps.data() + begin, end - begin};
      size_t pos = 0;
      while (pos < s.n) {
        const Match m = find_match(step, s, pos);
        if (m.length == 0) break;
        if (m.begin > pos) next.emplace_back(begin + pos, begin + m.begin);
        next.emplace_back(begin + m.begin, begin + m.begin + m.length);
        pos = m.begin + m.length;
      }
      if (pos < s.n) next.emplace_back(begin + pos, end);
    }
    pieces.swap(next);
  }

  std::vector<ByteRange> out;
  out.reserve(pieces.size());
  for (const auto& [begin, end] : pieces) out.emplace_back(offsets[begin], offsets[end]);
  return out;
}

}  // namespace tandem
