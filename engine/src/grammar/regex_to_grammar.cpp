#include "grammar/regex_to_grammar.h"

#include <bitset>
#include <charconv>
#include <cstdio>

namespace tandem::grammar {
namespace {

ByteSet range(uint8_t lo, uint8_t hi) { return ByteSet{}.add_range(lo, hi); }

// Well-formed UTF-8 sequences of two to four bytes (RFC 3629, table 3-7 of Unicode).
ExprPtr multibyte_char() {
  const ExprPtr tail = bytes(range(0x80, 0xbf));
  return choice({
      sequence({bytes(range(0xc2, 0xdf)), tail}),
      sequence({bytes(ByteSet{}.add(0xe0)), bytes(range(0xa0, 0xbf)), tail}),
      sequence({bytes(range(0xe1, 0xec)), tail, tail}),
      sequence({bytes(ByteSet{}.add(0xed)), bytes(range(0x80, 0x9f)), tail}),
      sequence({bytes(range(0xee, 0xef)), tail, tail}),
      sequence({bytes(ByteSet{}.add(0xf0)), bytes(range(0x90, 0xbf)), tail, tail}),
      sequence({bytes(range(0xf1, 0xf3)), tail, tail, tail}),
      sequence({bytes(ByteSet{}.add(0xf4)), bytes(range(0x80, 0x8f)), tail, tail}),
  });
}

// A character class over ASCII, plus "and every non-ASCII character" for negated classes.
struct CharClass {
  std::bitset<128> ascii;
  bool non_ascii = false;

  void add_range(int lo, int hi) {
    for (int c = lo; c <= hi; ++c) ascii.set(static_cast<size_t>(c));
  }
  void negate() {
    ascii.flip();
    non_ascii = !non_ascii;
  }
  void merge(const CharClass& other) {
    ascii |= other.ascii;
    non_ascii = non_ascii || other.non_ascii;
  }
};

// The class as JSON string text: raw printable bytes, escapes for the rest.
ExprPtr class_expr(const CharClass& c) {
  std::vector<ExprPtr> alternatives;
  ByteSet raw;
  for (int b = 0x20; b < 0x80; ++b) {
    if (c.ascii.test(static_cast<size_t>(b)) && b != '"' && b != '\\') raw.add(static_cast<uint8_t>(b));
  }
  if (!raw.empty()) alternatives.push_back(bytes(raw));
  if (c.ascii.test('"')) alternatives.push_back(literal("\\\""));
  if (c.ascii.test('\\')) alternatives.push_back(literal("\\\\"));
  for (int b = 0; b < 0x20; ++b) {
    if (!c.ascii.test(static_cast<size_t>(b))) continue;
    switch (b) {
      case '\n': alternatives.push_back(literal("\\n")); break;
      case '\t': alternatives.push_back(literal("\\t")); break;
      case '\r': alternatives.push_back(literal("\\r")); break;
      case '\b': alternatives.push_back(literal("\\b")); break;
      case '\f': alternatives.push_back(literal("\\f")); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", b);
        alternatives.push_back(literal(buf));
      }
    }
  }
  if (c.non_ascii) alternatives.push_back(multibyte_char());
  if (alternatives.empty()) return nullptr;  // matches nothing
  return choice(std::move(alternatives));
}

CharClass digits() {
  CharClass c;
  c.add_range('0', '9');
  return c;
}
CharClass word() {
  CharClass c = digits();
  c.add_range('a', 'z');
  c.add_range('A', 'Z');
  c.ascii.set('_');
  return c;
}
CharClass space() {
  CharClass c;
  for (char ch : {' ', '\t', '\n', '\r', '\f', '\v'}) c.ascii.set(static_cast<size_t>(ch));
  return c;
}
CharClass dot() {  // any character but a newline
  CharClass c;
  c.negate();
  c.ascii.reset('\n');
  return c;
}

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  Result<ExprPtr> parse(const ExprPtr& any_char) {
    bool anchored_start = false;
    bool anchored_end = false;
    if (!p_.empty() && p_.front() == '^') {
      anchored_start = true;
      p_.remove_prefix(1);
    }
    // "$" at the end, unless escaped ("\$").
    if (!p_.empty() && p_.back() == '$') {
      size_t backslashes = 0;
      for (size_t i = p_.size() - 1; i > 0 && p_[i - 1] == '\\'; --i) ++backslashes;
      if (backslashes % 2 == 0) {
        anchored_end = true;
        p_.remove_suffix(1);
      }
    }
    ExprPtr body = alternation();
    if (error_.empty() && i_ < p_.size()) fail("unbalanced ')'");
    if (!error_.empty()) return make_error("pattern: " + error_);
    if (!body) return make_error("pattern: the regular expression matches no string");
    std::vector<ExprPtr> parts;
    if (!anchored_start) parts.push_back(repeat(any_char, 0, kUnbounded));
    parts.push_back(body);
    if (!anchored_end) parts.push_back(repeat(any_char, 0, kUnbounded));
    return sequence(std::move(parts));
  }

 private:
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message) + " (at offset " + std::to_string(i_) + ")";
  }
  bool at_end() const { return i_ >= p_.size(); }

  ExprPtr alternation() {
    std::vector<ExprPtr> alternatives;
    bool empty_branch = false;
    while (true) {
      ExprPtr branch = concatenation();
      if (branch) {
        alternatives.push_back(branch);
      } else {
        empty_branch = true;  // a branch that matches nothing drops out
      }
      if (!error_.empty()) return nullptr;
      if (at_end() || p_[i_] != '|') break;
      ++i_;
    }
    (void)empty_branch;
    if (alternatives.empty()) return nullptr;
    return choice(std::move(alternatives));
  }

  // nullptr when the concatenation can match nothing (an empty class).
  ExprPtr concatenation() {
    std::vector<ExprPtr> items;
    bool impossible = false;
    while (!at_end() && p_[i_] != '|' && p_[i_] != ')') {
      ExprPtr atom_expr;
      bool atom_possible = atom(atom_expr);
      if (!error_.empty()) return nullptr;
      uint32_t min = 1, max = 1;
      if (!quantifier(min, max)) return nullptr;
      if (!atom_possible) {
        if (min > 0) impossible = true;
        continue;
      }
      items.push_back(min == 1 && max == 1 ? atom_expr : repeat(atom_expr, min, max));
    }
    if (impossible) return nullptr;
    return sequence(std::move(items));
  }

  bool quantifier(uint32_t& min, uint32_t& max) {
    if (at_end()) return true;
    const char c = p_[i_];
    if (c == '*') {
      min = 0, max = kUnbounded;
    } else if (c == '+') {
      min = 1, max = kUnbounded;
    } else if (c == '?') {
      min = 0, max = 1;
    } else if (c == '{') {
      const size_t close = p_.find('}', i_);
      if (close == std::string_view::npos) {
        fail("'{' without '}'");
        return false;
      }
      const std::string_view inside = p_.substr(i_ + 1, close - i_ - 1);
      const size_t comma = inside.find(',');
      if (!number(inside.substr(0, comma), min)) return false;
      if (comma == std::string_view::npos) {
        max = min;
      } else if (comma + 1 == inside.size()) {
        max = kUnbounded;
      } else if (!number(inside.substr(comma + 1), max)) {
        return false;
      }
      if (max != kUnbounded && max < min) {
        fail("a repetition {m,n} with n < m");
        return false;
      }
      i_ = close;
    } else {
      return true;
    }
    ++i_;
    if (!at_end() && (p_[i_] == '?' || p_[i_] == '+')) ++i_;  // lazy or possessive: same strings
    if (!at_end() && (p_[i_] == '*' || p_[i_] == '+' || p_[i_] == '?' || p_[i_] == '{')) {
      fail("a quantifier after a quantifier");
      return false;
    }
    return true;
  }

  bool number(std::string_view text, uint32_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size()) {
      fail("a repetition bound that is not a number");
      return false;
    }
    if (out > kMaxRegexRepeat) {
      fail("a repetition bound above " + std::to_string(kMaxRegexRepeat));
      return false;
    }
    return true;
  }

  // Parses one atom into `out`; returns false when it matches nothing (an empty class).
  bool atom(ExprPtr& out) {
    const char c = p_[i_];
    if (c == '(') {
      ++i_;
      if (!at_end() && p_[i_] == '?') {
        const std::string_view rest = p_.substr(i_);
        if (rest.starts_with("?:")) {
          i_ += 2;
        } else if (rest.starts_with("?P<") || (rest.starts_with("?<") && !rest.starts_with("?<=") &&
                                               !rest.starts_with("?<!"))) {
          const size_t close = p_.find('>', i_);
          if (close == std::string_view::npos) return fail("a named group without '>'"), false;
          i_ = close + 1;
        } else {
          fail("lookaround and inline flags ((?=, (?!, (?<=, (?i) ...) are not supported");
          return false;
        }
      }
      out = alternation();
      if (!error_.empty()) return false;
      if (at_end() || p_[i_] != ')') return fail("'(' without ')'"), false;
      ++i_;
      return out != nullptr;
    }
    if (c == '[') return class_atom(out);
    if (c == '.') {
      ++i_;
      out = class_expr(dot());
      return true;
    }
    if (c == '^' || c == '$') return fail("anchors ('^', '$') are supported only at the very start and end"), false;
    if (c == '*' || c == '+' || c == '?' || c == '{') return fail("a quantifier with nothing to repeat"), false;
    if (c == ')') return fail("unbalanced ')'"), false;
    if (c == '\\') {
      CharClass cls;
      if (!escape(cls, /*in_class=*/false)) return false;
      out = class_expr(cls);
      return out != nullptr;
    }
    // A literal character, whole (UTF-8 multi-byte characters are copied byte for byte).
    const auto lead = static_cast<uint8_t>(c);
    size_t n = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (i_ + n > p_.size()) n = p_.size() - i_;
    if (lead < 0x80) {
      CharClass cls;
      cls.ascii.set(lead);
      out = class_expr(cls);
    } else {
      out = literal(p_.substr(i_, n));
    }
    i_ += n;
    return true;
  }

  // After the backslash: a class escape or an escaped character, into cls.
  bool escape(CharClass& cls, bool in_class) {
    ++i_;
    if (at_end()) return fail("a pattern ending in '\\'"), false;
    const char c = p_[i_++];
    switch (c) {
      case 'd': cls.merge(digits()); return true;
      case 'w': cls.merge(word()); return true;
      case 's': cls.merge(space()); return true;
      case 'D': {
        CharClass n = digits();
        n.negate();
        cls.merge(n);
        return true;
      }
      case 'W': {
        CharClass n = word();
        n.negate();
        cls.merge(n);
        return true;
      }
      case 'S': {
        CharClass n = space();
        n.negate();
        cls.merge(n);
        return true;
      }
      case 'n': cls.ascii.set('\n'); return true;
      case 't': cls.ascii.set('\t'); return true;
      case 'r': cls.ascii.set('\r'); return true;
      case 'f': cls.ascii.set('\f'); return true;
      case 'v': cls.ascii.set('\v'); return true;
      default: break;
    }
    if (c == 'b' && in_class) {
      cls.ascii.set('\b');
      return true;
    }
    if ((c >= '0' && c <= '9') || c == 'b' || c == 'B' || c == 'A' || c == 'Z' || c == 'z' || c == 'k' ||
        c == 'p' || c == 'P' || c == 'u' || c == 'x' || c == 'c') {
      fail(std::string("the escape \\") + c + " is not supported");
      return false;
    }
    if (static_cast<uint8_t>(c) >= 0x80) return fail("an escaped non-ASCII character"), false;
    cls.ascii.set(static_cast<size_t>(c));  // an escaped punctuation character stands for itself
    return true;
  }

  bool class_atom(ExprPtr& out) {
    ++i_;  // '['
    CharClass cls;
    bool negated = false;
    if (!at_end() && p_[i_] == '^') {
      negated = true;
      ++i_;
    }
    bool first = true;
    while (true) {
      if (at_end()) return fail("'[' without ']'"), false;
      char c = p_[i_];
      if (c == ']' && !first) break;
      first = false;
      if (static_cast<uint8_t>(c) >= 0x80) return fail("non-ASCII characters in a [class]"), false;
      int lo = 0;
      if (c == '\\') {
        CharClass escaped;
        if (!escape(escaped, /*in_class=*/true)) return false;
        if (escaped.ascii.count() != 1 || escaped.non_ascii) {
          cls.merge(escaped);  // \d, \w, \s inside a class
          continue;
        }
        lo = static_cast<int>(escaped.ascii._Find_first());
      } else {
        lo = static_cast<uint8_t>(c);
        ++i_;
      }
      // A range a-z (a '-' before ']' is a literal).
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        int hi = static_cast<uint8_t>(p_[i_]);
        if (hi == '\\') {
          CharClass escaped;
          if (!escape(escaped, /*in_class=*/true)) return false;
          if (escaped.ascii.count() != 1 || escaped.non_ascii) return fail("a class escape as a range end"), false;
          hi = static_cast<int>(escaped.ascii._Find_first());
        } else {
          if (hi >= 0x80) return fail("non-ASCII characters in a [class]"), false;
          ++i_;
        }
        if (hi < lo) return fail("a [class] range whose end is below its start"), false;
        cls.add_range(lo, hi);
      } else {
        cls.ascii.set(static_cast<size_t>(lo));
      }
    }
    ++i_;  // ']'
    if (negated) cls.negate();
    out = class_expr(cls);
    return out != nullptr;
  }

  std::string_view p_;
  size_t i_ = 0;
  std::string error_;
};

}  // namespace

ExprPtr json_string_char() {
  ByteSet plain;
  plain.add_range(0x20, 0x7f);
  plain.bits[0] &= ~(uint64_t{1} << '"');
  plain.bits[1] &= ~(uint64_t{1} << ('\\' - 64));
  ByteSet escapable;
  for (char c : std::string_view("\"\\/bfnrt")) escapable.add(static_cast<uint8_t>(c));
  ByteSet hex;
  hex.add_range('0', '9').add_range('a', 'f').add_range('A', 'F');
  const ExprPtr h = bytes(hex);
  // \uXXXX outside the surrogates D800-DFFF: a lone surrogate is refused by strict parsers, and a
  // pair is no better than the character's own UTF-8, which the grammar allows.
  ByteSet not_d = hex;
  for (char c : {'d', 'D'}) not_d.bits[static_cast<uint8_t>(c) >> 6] &= ~(uint64_t{1} << (static_cast<uint8_t>(c) & 63));
  const ExprPtr unicode = sequence({literal("u"), choice({sequence({bytes(not_d), h, h, h}),
                                                          sequence({bytes(ByteSet{}.add('d').add('D')),
                                                                    bytes(ByteSet{}.add_range('0', '7')), h, h})})});
  return choice({bytes(plain), sequence({literal("\\"), choice({bytes(escapable), unicode})}), multibyte_char()});
}

Result<ExprPtr> regex_to_grammar(std::string_view pattern, const ExprPtr& any_char) {
  return RegexParser(pattern).parse(any_char);
}

}  // namespace tandem::grammar
