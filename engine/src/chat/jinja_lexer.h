#pragma once
// Splits template source into tokens the way jinja2's lexer does under transformers' settings
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False): whitespace control
// (`{%-`, `-%}`, `{%+`, `+%}`), newline normalisation, comments and raw blocks are all
// resolved here, so the parser only sees text, tags and expression tokens.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::jinja {

enum class TokenType {
  kText,           // literal template text, whitespace control already applied
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,   // text holds the value, escapes resolved
  kInteger,  // integer holds the value
  kFloat,    // number holds the value
  kOperator,
  kEnd,
};

struct Token {
  TokenType type = TokenType::kEnd;
  std::string text;
  int64_t integer = 0;
  double number = 0;
  int line = 1;
};

// Throws jinja::Error (kSyntax) naming the line for malformed input. The last token is kEnd.
std::vector<Token> tokenize(std::string_view source);

std::string describe(const Token& token);  // "end of print statement", "'endfor'", ...

}  // namespace tandem::jinja
