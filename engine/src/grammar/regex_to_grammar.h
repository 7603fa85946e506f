#pragma once
// A JSON Schema "pattern" (a regular expression) as a grammar for the inside of a JSON string:
// the characters the regex matches, spelled as they appear between the quotes ("\"" for a quote,
// "\\n" for a newline).
//
// Supported: literals, ".", classes ([a-z0-9_], [^...]) with ASCII members, \d \w \s and their
// negations, groups ((...), (?:...), named), alternation, the quantifiers ? * + {m} {m,} {m,n}
// (bounds up to kMaxRegexRepeat; lazy forms match the same strings), "^" at the very start and
// "$" at the very end. JSON Schema patterns are unanchored: a missing "^" or "$" lets any text
// come before or after. Anything else (lookaround, backreferences, \b, anchors in the middle)
// is an error that says what is not supported.

#include <string_view>

#include "core/result.h"
#include "grammar/grammar.h"

namespace tandem::grammar {

inline constexpr uint32_t kMaxRegexRepeat = 1000;

// any_char: the expression for one JSON string character of any kind (for unanchored ends).
Result<ExprPtr> regex_to_grammar(std::string_view pattern, const ExprPtr& any_char);

// One character of a JSON string, spelled as inside the quotes: printable ASCII other than '"'
// and '\\', an escape, or a well-formed multi-byte UTF-8 character.
ExprPtr json_string_char();

}  // namespace tandem::grammar
