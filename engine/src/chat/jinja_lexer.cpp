#include "chat/jinja_lexer.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "chat/jinja_error.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {

[[noreturn]] void syntax_error(const std::string& message, int line) {
  throw Error(ErrorKind::kSyntax, message, line);
}

// jinja2 first turns every \r\n and \r into \n and, with keep_trailing_newline=False, drops
// one final newline.
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool is_name_char(char c) { return is_name_start(c) || is_ascii_digit(c); }

// Skips Python whitespace (regex \s) starting at pos.
size_t skip_space(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t next = pos;
    if (!is_space(decode_code_point(s, next))) break;
    pos = next;
  }
  return pos;
}

// Python's str.rstrip(): drops trailing whitespace.
std::string_view rstrip(std::string_view s) {
  size_t end = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    if (!is_space(decode_code_point(s, pos))) end = pos;
  }
  return s.substr(0, end);
}

bool all_space(std::string_view s) {
  if (s.empty()) return false;  // jinja's \s+ needs at least one character
  for (char32_t c : decode_utf8(s)) {
    if (!is_space(c)) return false;
  }
  return true;
}

int count_newlines(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Python's "unicode-escape" decoding of a string literal body, which is what jinja2 applies.
std::string unescape(std::string_view body, int line) {
  std::string out;
  out.reserve(body.size());
  auto hex_value = [&](size_t pos, int n) -> uint32_t {
    if (pos + static_cast<size_t>(n) > body.size()) syntax_error("truncated \\x, \\u or \\U escape in a string", line);
    uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      const char c = body[pos + static_cast<size_t>(k)];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else {
        syntax_error("truncated \\x, \\u or \\U escape in a string", line);
      }
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return v;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out.push_back(c);
      continue;
    }
    const char e = body[++i];
    switch (e) {
      case '\n': break;  // a backslash before a newline continues the line
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x':
        append_utf8(out, hex_value(i + 1, 2));
        i += 2;
        break;
      case 'u':
        append_utf8(out, hex_value(i + 1, 4));
        i += 4;
        break;
      case 'U': {
        const uint32_t v = hex_value(i + 1, 8);
        if (v > 0x10FFFF) syntax_error("\\U escape out of range in a string", line);
        append_utf8(out, v);
        i += 8;
        break;
      }
      case 'N': syntax_error("unsupported \\N{...} escape in a string", line);
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            v = v * 8 + static_cast<uint32_t>(body[++i] - '0');
          }
          append_utf8(out, v);
        } else {
          out.push_back('\\');  // unknown escapes stay as written
          out.push_back(e);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      if (tag == std::string::npos) {
        emit_text(std::string_view(src_).substr(pos_), line_);
        advance_to(src_.size());
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      size_t after = tag + 2;
      char sign = 0;
      if (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
      const size_t raw_end = kind == '%' ? match_raw_begin(after) : std::string::npos;

      std::string_view text = std::string_view(src_).substr(pos_, tag - pos_);
      const int text_line = line_;
      text = strip_before_tag(text, sign, /*lstrip_allowed=*/kind != '{');
      emit_text(text, text_line);
      advance_to(tag);

      if (raw_end != std::string::npos) {
        lex_raw(raw_end);
      } else if (kind == '#') {
        lex_comment(after);
      } else {
        lex_tag(kind == '{', after);
      }
    }
    Token end;
    end.type = TokenType::kEnd;
    end.line = line_;
    tokens_.push_back(end);
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    size_t p = src_.find('{', from);
    while (p != std::string::npos && p + 1 < src_.size()) {
      const char c = src_[p + 1];
      if (c == '{' || c == '%' || c == '#') return p;
      p = src_.find('{', p + 1);
    }
    return std::string::npos;
  }

  // Whitespace control for the text before a tag: `-` strips all whitespace; otherwise, for
  // block and comment tags, lstrip_blocks removes spaces between a line start and the tag.
  std::string_view strip_before_tag(std::string_view text, char sign, bool lstrip_allowed) const {
    if (sign == '-') return rstrip(text);
    if (sign == '+' || !lstrip_allowed) return text;
    const size_t nl = text.rfind('\n');
    const size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
    if ((line_start > 0 || line_starting_) && all_space(text.substr(line_start))) return text.substr(0, line_start);
    return text;
  }

  void emit_text(std::string_view text, int line) {
    if (text.empty()) return;
    Token t;
    t.type = TokenType::kText;
    t.text = std::string(text);
    t.line = line;
    tokens_.push_back(std::move(t));
  }

  void emit(TokenType type, std::string text, int line) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.line = line;
    tokens_.push_back(std::move(t));
  }

  void advance_to(size_t pos) {
    line_ += count_newlines(std::string_view(src_).substr(pos_, pos - pos_));
    pos_ = pos;
  }

  // `{%[-+]?\s*raw\s*(-%}\s*|%})` at the tag; returns where the raw content starts.
  size_t match_raw_begin(size_t p) {
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return std::string::npos;
    p += 3;
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    if (src_.compare(p, 3, "-%}") == 0) return skip_space(src_, p + 3);
    if (src_.compare(p, 2, "%}") == 0) return p + 2;
    return std::string::npos;
  }

  void lex_raw(size_t content_begin) {
    line_starting_ = content_begin > 0 && src_[content_begin - 1] == '\n';
    advance_to(content_begin);
    // Find `{%[-+]?\s*endraw\s*(+%}|-%}\s*|%}\n?)`.
    size_t p = src_.find("{%", pos_);
    while (p != std::string::npos) {
      size_t q = p + 2;
      char sign = 0;
      if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) sign = src_[q++];
      while (q < src_.size() && is_ascii_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") == 0) {
        q += 6;
        while (q < src_.size() && is_ascii_space(src_[q])) ++q;
        size_t end = std::string::npos;
        if (src_.compare(q, 3, "+%}") == 0) {
          end = q + 3;
        } else if (src_.compare(q, 3, "-%}") == 0) {
          end = skip_space(src_, q + 3);
        } else if (src_.compare(q, 2, "%}") == 0) {
          end = q + 2;
          if (end < src_.size() && src_[end] == '\n') ++end;
        }
        if (end != std::string::npos) {
          std::string_view content = std::string_view(src_).substr(pos_, p - pos_);
          emit_text(strip_before_tag(content, sign, true), line_);
          advance_to(end);
          line_starting_ = src_[end - 1] == '\n';
          return;
        }
      }
      p = src_.find("{%", p + 2);
    }
    syntax_error("missing {% endraw %} for the {% raw %} block", line_);
  }

  void lex_comment(size_t body) {
    // The comment ends at the first `#}`, taking a `-` or `+` just before it as its sign.
    size_t close = src_.find("#}", body);
    if (close == std::string::npos) syntax_error("missing end of comment tag #}", line_);
    size_t end = close + 2;
    const char sign = close > body && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    if (sign == '-') {
      end = skip_space(src_, end);
    } else if (sign == 0 && end < src_.size() && src_[end] == '\n') {
      ++end;  // trim_blocks
    }
    advance_to(end);
    line_starting_ = src_[end - 1] == '\n';
  }

  void lex_tag(bool variable, size_t p) {
    emit(variable ? TokenType::kVariableBegin : TokenType::kBlockBegin, variable ? "{{" : "{%", line_);
    advance_to(p);
    std::vector<char> brackets;
    while (true) {
      while (pos_ < src_.size() && is_ascii_space(src_[pos_])) advance_to(pos_ + 1);
      if (pos_ >= src_.size()) {
        syntax_error(std::string("unexpected end of template inside a ") + (variable ? "{{ ... }}" : "{% ... %}") +
                         " tag; expected " + (variable ? "'}}'" : "'%}'"),
                     line_);
      }
      if (brackets.empty()) {
        size_t end = std::string::npos;
        if (variable) {
          if (src_.compare(pos_, 3, "-}}") == 0) {
            end = skip_space(src_, pos_ + 3);
          } else if (src_.compare(pos_, 2, "}}") == 0) {
            end = pos_ + 2;
          }
        } else if (src_.compare(pos_, 3, "+%}") == 0) {
          end = pos_ + 3;
        } else if (src_.compare(pos_, 3, "-%}") == 0) {
          end = skip_space(src_, pos_ + 3);
        } else if (src_.compare(pos_, 2, "%}") == 0) {
          end = pos_ + 2;
          if (end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks
        }
        if (end != std::string::npos) {
          emit(variable ? TokenType::kVariableEnd : TokenType::kBlockEnd, variable ? "}}" : "%}", line_);
          advance_to(end);
          line_starting_ = src_[end - 1] == '\n';
          return;
        }
      }
      lex_expression_token(brackets);
    }
  }

  void lex_expression_token(std::vector<char>& brackets) {
    const char c = src_[pos_];
    const int line = line_;
    if (is_ascii_digit(c)) {
      // After a dot (`xs.0`) only an integer may follow, as jinja's float rule looks behind.
      lex_number(/*allow_float=*/pos_ == 0 || src_[pos_ - 1] != '.');
      return;
    }
    if (is_name_start(c)) {
      size_t end = pos_;
      while (end < src_.size() && is_name_char(src_[end])) ++end;
      emit(TokenType::kName, src_.substr(pos_, end - pos_), line);
      advance_to(end);
      return;
    }
    if (c == '\'' || c == '"') {
      size_t end = pos_ + 1;
      while (end < src_.size() && src_[end] != c) end += src_[end] == '\\' ? 2 : 1;
      if (end >= src_.size()) syntax_error("unterminated string literal", line);
      Token t;
      t.type = TokenType::kString;
      t.text = unescape(std::string_view(src_).substr(pos_ + 1, end - pos_ - 1), line);
      t.line = line;
      tokens_.push_back(std::move(t));
      advance_to(end + 1);
      return;
    }
    static constexpr std::array<std::string_view, 6> kTwoChar = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwoChar) {
      if (src_.compare(pos_, 2, op) == 0) {
        emit(TokenType::kOperator, std::string(op), line);
        advance_to(pos_ + 2);
        return;
      }
    }
    static constexpr std::string_view kOneChar = "+-/*%~[](){}<>=.:|,;";
    if (kOneChar.find(c) == std::string_view::npos) {
      syntax_error(std::string("unexpected character '") + c + "' in a tag", line);
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty() || brackets.back() != c) syntax_error(std::string("unexpected '") + c + "'", line);
      brackets.pop_back();
    }
    emit(TokenType::kOperator, std::string(1, c), line);
    advance_to(pos_ + 1);
  }

  // Digits with single underscores between them: (\d+_)*\d+. Returns the end or npos.
  size_t scan_digits(size_t p) const {
    if (p >= src_.size() || !is_ascii_digit(src_[p])) return std::string::npos;
    while (true) {
      while (p < src_.size() && is_ascii_digit(src_[p])) ++p;
      if (p + 1 < src_.size() && src_[p] == '_' && is_ascii_digit(src_[p + 1])) {
        ++p;
        continue;
      }
      return p;
    }
  }

  static std::string without_underscores(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c != '_') out.push_back(c);
    }
    return out;
  }

  void lex_number(bool allow_float) {
    const int line = line_;
    const size_t int_end = scan_digits(pos_);
    // Float: digits, then a fraction and/or an exponent.
    size_t end = int_end;
    bool is_float = false;
    if (allow_float && end + 1 < src_.size() && src_[end] == '.') {
      const size_t frac_end = scan_digits(end + 1);
      if (frac_end != std::string::npos) {
        end = frac_end;
        is_float = true;
      }
    }
    if (allow_float && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t p = end + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      const size_t exp_end = scan_digits(p);
      if (exp_end != std::string::npos) {
        end = exp_end;
        is_float = true;
      }
    }
    if (is_float) {
      Token t;
      t.type = TokenType::kFloat;
      t.text = src_.substr(pos_, end - pos_);
      t.number = std::strtod(without_underscores(t.text).c_str(), nullptr);
      t.line = line;
      tokens_.push_back(std::move(t));
      advance_to(end);
      return;
    }
    // Integer: 0b / 0o / 0x prefixes, [1-9](_?\d)*, or 0(_?0)*.
    int base = 10;
    size_t p = pos_;
    if (src_[p] == '0' && p + 1 < src_.size()) {
      const char x = static_cast<char>(src_[p + 1] | 0x20);
      if (x == 'b' || x == 'o' || x == 'x') base = x == 'b' ? 2 : x == 'o' ? 8 : 16;
    }
    std::string digits;
    if (base != 10) {
      p += 2;
      auto valid = [&](char ch) {
        ch = static_cast<char>(ch | 0x20);
        if (base == 2) return ch == '0' || ch == '1';
        if (base == 8) return ch >= '0' && ch <= '7';
        return is_ascii_digit(ch) || (ch >= 'a' && ch <= 'f');
      };
      while (p < src_.size() && (valid(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && valid(src_[p + 1])))) {
        if (src_[p] != '_') digits.push_back(src_[p]);
        ++p;
      }
      if (digits.empty()) {  // "0x" without digits: only the 0 is a number
        base = 10;
        p = pos_ + 1;
        digits.assign(1, '0');
      }
    } else if (src_[p] == '0') {
      ++p;
      digits.assign(1, '0');
      while (p + 1 < src_.size() && (src_[p] == '0' || (src_[p] == '_' && src_[p + 1] == '0'))) ++p;
      if (p < src_.size() && src_[p] == '0') ++p;
    } else {
      p = int_end;
      digits = without_underscores(std::string_view(src_).substr(pos_, p - pos_));
    }
    errno = 0;
    char* parse_end = nullptr;
    const long long v = std::strtoll(digits.c_str(), &parse_end, base);
    if (errno == ERANGE) syntax_error("integer literal " + digits + " is too large", line);
    Token t;
    t.type = TokenType::kInteger;
    t.text = src_.substr(pos_, p - pos_);
    t.integer = v;
    t.line = line;
    tokens_.push_back(std::move(t));
    advance_to(p);
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;  // the previous tag ended with a newline (or we are at the start)
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

std::string describe(const Token& token) {
  switch (token.type) {
    case TokenType::kText: return "template text";
    case TokenType::kVariableBegin: return "'{{'";
    case TokenType::kVariableEnd: return "end of print statement '}}'";
    case TokenType::kBlockBegin: return "'{%'";
    case TokenType::kBlockEnd: return "end of statement block '%}'";
    case TokenType::kString: return "string literal";
    case TokenType::kInteger:
    case TokenType::kFloat: return "number " + token.text;
    case TokenType::kEnd: return "end of template";
    case TokenType::kName:
    case TokenType::kOperator: return "'" + token.text + "'";
  }
  return "token";
}

}  // namespace tandem::jinja
