#include "chat/jinja_text.h"

#include <algorithm>

namespace tandem::jinja {

namespace {

// Invalid bytes decode to U+DC80..U+DCFF and encode back to themselves (Python's
// surrogateescape); valid UTF-8 never produces these surrogates.
constexpr char32_t kEscapedByteBase = 0xDC00;

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes one code point at s[i], advancing i.
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int n = 0;
  char32_t c = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 1;
    c = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 2;
    c = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 3;
    c = b0 & 0x07;
  } else {
    ++i;
    return kEscapedByteBase + b0;
  }
  for (int k = 1; k <= n; ++k) {
    if (i + k >= s.size() || !is_continuation(static_cast<unsigned char>(s[i + k]))) {
      ++i;
      return kEscapedByteBase + b0;
    }
    c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  if (c < kMin[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {  // overlong or not a scalar
    ++i;
    return kEscapedByteBase + b0;
  }
  i += n + 1;
  return c;
}

bool in_chars(char32_t c, const std::u32string& set) { return set.find(c) != std::u32string::npos; }

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x85 ||
         c == 0x2028 || c == 0x2029;
}

// Latin Extended-A alternates upper/lower case in pairs; which of the pair comes first
// changes between sub-ranges.
bool latin_ext_a_even_is_upper(char32_t c) {
  return (c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
}
bool latin_ext_a_odd_is_upper(char32_t c) {
  return (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
}

}  // namespace

char32_t decode_code_point(std::string_view s, size_t& pos) { return next_code_point(s, pos); }

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) out.push_back(next_code_point(s, i));
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c >= kEscapedByteBase + 0x80 && c <= kEscapedByteBase + 0xFF) {
    out.push_back(static_cast<char>(c - kEscapedByteBase));
  } else if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

size_t count_code_points(std::string_view s) {
  size_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    next_code_point(s, i);
    ++n;
  }
  return n;
}

bool is_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }

bool is_alpha(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;
  if (c == 0xD7 || c == 0xF7) return false;
  if (is_space(c)) return false;
  // Punctuation, symbols, emoji and our escaped bytes are not letters.
  if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) || (c >= 0xDC80 && c <= 0xDCFF) ||
      (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) ||
      (c >= 0xFF1A && c <= 0xFF20) || (c >= 0x1F000 && c <= 0x1FAFF)) {
    return false;
  }
  return true;
}

bool is_word_char(char32_t c) { return is_alpha(c) || is_digit(c) || c == '_'; }

char32_t to_upper(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0xB5) return c;
  if (c == 0xB5) return 0x39C;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 0x20;
  if (c == 0xFF) return 0x178;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if (latin_ext_a_even_is_upper(c) && (c & 1)) return c - 1;
  if (latin_ext_a_odd_is_upper(c) && !(c & 1)) return c - 1;
  if (c == 0x3C2) return 0x3A3;
  if ((c >= 0x3B1 && c <= 0x3C1) || (c >= 0x3C3 && c <= 0x3CB)) return c - 0x20;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  return c;
}

char32_t to_lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xC0) return c;
  if (c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0x130) return 'i';
  if (c == 0x178) return 0xFF;
  if (latin_ext_a_even_is_upper(c) && !(c & 1)) return c + 1;
  if (latin_ext_a_odd_is_upper(c) && (c & 1)) return c + 1;
  if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB)) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

bool is_upper(char32_t c) { return to_lower(c) != c; }
bool is_lower(char32_t c) { return to_upper(c) != c || c == 0xDF; }

namespace {
bool is_cased(char32_t c) { return is_upper(c) || is_lower(c); }

void append_upper(std::string& out, char32_t c) {
  if (c == 0xDF) {  // ß has no single upper-case letter; Python writes "SS"
    out += "SS";
  } else {
    append_utf8(out, to_upper(c));
  }
}

// Σ lower-cases to final ς at the end of a word (Python's Final_Sigma rule).
char32_t lower_in_context(const std::u32string& s, size_t i) {
  if (s[i] != 0x3A3) return to_lower(s[i]);
  bool cased_before = false;
  for (size_t k = i; k-- > 0;) {
    if (is_cased(s[k])) {
      cased_before = true;
      break;
    }
    if (s[k] != '\'' && s[k] != 0x2019) break;
  }
  bool cased_after = false;
  for (size_t k = i + 1; k < s.size(); ++k) {
    if (is_cased(s[k])) {
      cased_after = true;
      break;
    }
    if (s[k] != '\'' && s[k] != 0x2019) break;
  }
  return cased_before && !cased_after ? 0x3C2 : 0x3C3;
}
}  // namespace

std::string upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : decode_utf8(s)) append_upper(out, c);
  return out;
}

std::string lower(std::string_view s) {
  const std::u32string u = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < u.size(); ++i) append_utf8(out, lower_in_context(u, i));
  return out;
}

std::string title(std::string_view s) {
  const std::u32string u = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  bool previous_cased = false;
  for (size_t i = 0; i < u.size(); ++i) {
    const char32_t c = u[i];
    if (previous_cased) {
      append_utf8(out, lower_in_context(u, i));
    } else if (c == 0xDF) {
      out += "Ss";
    } else {
      append_utf8(out, to_upper(c));
    }
    previous_cased = is_cased(c);
  }
  return out;
}

std::string capitalize(std::string_view s) {
  const std::u32string u = decode_utf8(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 0) {
      if (u[0] == 0xDF) {
        out += "Ss";
      } else {
        append_utf8(out, to_upper(u[0]));
      }
    } else {
      append_utf8(out, lower_in_context(u, i));
    }
  }
  return out;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string u = decode_utf8(s);
  const std::u32string set = chars ? decode_utf8(*chars) : std::u32string();
  auto strippable = [&](char32_t c) { return chars ? in_chars(c, set) : is_space(c); };
  size_t begin = 0;
  size_t end = u.size();
  if (left) {
    while (begin < end && strippable(u[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strippable(u[end - 1])) --end;
  }
  return encode_utf8(std::u32string_view(u).substr(begin, end - begin));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<long>(parts.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  const std::u32string u = decode_utf8(s);
  size_t i = 0;
  while (true) {
    while (i < u.size() && is_space(u[i])) ++i;
    if (i == u.size()) break;
    if (maxsplit >= 0 && static_cast<long>(parts.size()) == maxsplit) {
      size_t end = u.size();
      while (end > i && is_space(u[end - 1])) --end;
      parts.push_back(encode_utf8(std::u32string_view(u).substr(i, end - i)));
      break;
    }
    const size_t start = i;
    while (i < u.size() && !is_space(u[i])) ++i;
    parts.push_back(encode_utf8(std::u32string_view(u).substr(start, i - start)));
  }
  return parts;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<long>(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  const std::u32string u = decode_utf8(s);
  size_t i = u.size();
  while (true) {
    while (i > 0 && is_space(u[i - 1])) --i;
    if (i == 0) break;
    if (maxsplit >= 0 && static_cast<long>(parts.size()) == maxsplit) {
      size_t begin = 0;
      while (begin < i && is_space(u[begin])) ++begin;
      parts.push_back(encode_utf8(std::u32string_view(u).substr(begin, i - begin)));
      break;
    }
    const size_t end = i;
    while (i > 0 && !is_space(u[i - 1])) --i;
    parts.push_back(encode_utf8(std::u32string_view(u).substr(i, end - i)));
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  const std::u32string u = decode_utf8(s);
  std::vector<std::string> lines;
  size_t start = 0;
  size_t i = 0;
  while (i < u.size()) {
    if (!is_line_break(u[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    size_t next = i + 1;
    if (u[i] == '\r' && next < u.size() && u[next] == '\n') ++next;
    lines.push_back(encode_utf8(std::u32string_view(u).substr(start, (keepends ? next : end) - start)));
    start = i = next;
  }
  if (start < u.size()) lines.push_back(encode_utf8(std::u32string_view(u).substr(start)));
  return lines;
}

std::string replace(std::string_view s, std::string_view from, std::string_view to, long count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` before every code point and at the end.
    const std::u32string u = decode_utf8(s);
    long done = 0;
    for (char32_t c : u) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      append_utf8(out, c);
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t start = 0;
  long done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(from, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(to);
    start = at + from.size();
    ++done;
  }
  out.append(s.substr(start));
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace tandem::jinja
