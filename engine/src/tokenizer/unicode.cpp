#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

#include "tokenizer/unicode_tables.h"

namespace tandem::unicode {

namespace {

Category lookup_category(char32_t cp) {
  const uint32_t* begin = tables::kCategoryRanges;
  const uint32_t* end = begin + tables::kCategoryRangeCount;
  // First range whose start is > cp, then step back: entries are (start << 5) | category.
  const uint32_t key = (static_cast<uint32_t>(cp) << 5) | 0x1F;
  const uint32_t* it = std::upper_bound(begin, end, key);
  if (it == begin) return Category::Cn;
  return static_cast<Category>(*(it - 1) & 0x1F);
}

// General categories of ASCII, computed once so the common case skips the binary search.
std::array<Category, 128> make_ascii_categories() {
  std::array<Category, 128> out{};
  for (char32_t c = 0; c < 128; ++c) out[c] = lookup_category(c);
  return out;
}

const std::array<Category, 128>& ascii_categories() {
  static const std::array<Category, 128> table = make_ascii_categories();
  return table;
}

bool in(Category c, Category a, Category b) { return c >= a && c <= b; }

}  // namespace

Category category(char32_t cp) {
  if (cp < 128) return ascii_categories()[cp];
  if (cp > 0x10FFFF) return Category::Cn;
  return lookup_category(cp);
}

bool is_letter(char32_t cp) { return in(category(cp), Category::Ll, Category::Lu); }
bool is_number(char32_t cp) { return in(category(cp), Category::Nd, Category::No); }
bool is_punctuation(char32_t cp) { return in(category(cp), Category::Pc, Category::Ps); }
bool is_symbol(char32_t cp) { return in(category(cp), Category::Sc, Category::So); }
bool is_mark(char32_t cp) { return in(category(cp), Category::Mc, Category::Mn); }
bool is_control(char32_t cp) { return in(category(cp), Category::Cc, Category::Cs); }

bool is_upper_like(char32_t cp) {
  const Category c = category(cp);
  return c == Category::Lu || c == Category::Lt || c == Category::Lm || c == Category::Lo ||
         in(c, Category::Mc, Category::Mn);
}

bool is_lower_like(char32_t cp) {
  const Category c = category(cp);
  return c == Category::Ll || c == Category::Lm || c == Category::Lo || in(c, Category::Mc, Category::Mn);
}

bool is_whitespace(char32_t cp) {
  if (cp < 128) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

char32_t to_lower(char32_t cp) {
  if (cp < 128) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  const tables::CodepointPair* begin = tables::kLowercase;
  const tables::CodepointPair* end = begin + tables::kLowercaseCount;
  const auto* it = std::lower_bound(begin, end, static_cast<uint32_t>(cp),
                                    [](const tables::CodepointPair& p, uint32_t v) { return p.from < v; });
  return (it != end && it->from == cp) ? static_cast<char32_t>(it->to) : cp;
}

char32_t nfd_first(char32_t cp) {
  if (cp < 0xC0) return cp;
  const tables::CodepointRange* begin = tables::kNfdFirst;
  const tables::CodepointRange* end = begin + tables::kNfdFirstCount;
  const auto* it = std::upper_bound(begin, end, static_cast<uint32_t>(cp),
                                    [](uint32_t v, const tables::CodepointRange& r) { return v < r.first; });
  if (it == begin) return cp;
  --it;
  return cp <= it->last ? static_cast<char32_t>(it->to) : cp;
}

size_t utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

Decoded decode_one(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(pos);
  if (lead < 0x80) return {lead, 1, true};
  const Decoded invalid{kEscapeBase + lead, 1, false};
  size_t n = 0;
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    n = 3;
    cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    cp = lead & 0x07;
  } else {
    return invalid;  // continuation byte, overlong lead C0/C1, or F5..FF
  }
  if (pos + n > text.size()) return invalid;
  for (size_t i = 1; i < n; ++i) {
    const uint8_t b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return invalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return invalid;
  if (cp >= 0xD800 && cp <= 0xDFFF) return invalid;
  return {cp, static_cast<uint32_t>(n), true};
}

size_t utf8_prefix_length(std::string_view text, size_t pos, size_t& needed) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  needed = 1;
  if (lead < 0x80) return 1;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  size_t i = 1;
  while (i < needed && pos + i < text.size()) {
    const auto b = static_cast<uint8_t>(text[pos + i]);
    if (i == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) break;
    ++i;
  }
  return i;
}

void decode(std::string_view text, std::vector<char32_t>& cps, std::vector<uint32_t>& offsets) {
  cps.clear();
  offsets.clear();
  cps.reserve(text.size());
  offsets.reserve(text.size() + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    const Decoded d = decode_one(text, pos);
    cps.push_back(d.cp);
    offsets.push_back(static_cast<uint32_t>(pos));
    pos += d.length;
  }
  offsets.push_back(static_cast<uint32_t>(text.size()));
}

void append_utf8(std::string& out, char32_t cp) {
  if (is_escaped_byte(cp)) {
    out += static_cast<char>(cp - kEscapeBase);
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t needed = 0;
    const size_t length = utf8_prefix_length(text, pos, needed);
    if (length == needed) {
      out.append(text.substr(pos, length));
    } else {
      append_utf8(out, kReplacement);
    }
    pos += std::max<size_t>(length, 1);
  }
  return out;
}

}  // namespace tandem::unicode
