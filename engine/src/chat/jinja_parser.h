#pragma once
// Parses template source into a syntax tree, following jinja2's grammar and operator
// precedence. Tags outside the supported subset (include, extends, block, import, ...) fail
// here with a message naming the tag and its line, as do unknown filters and tests.

#include <string_view>

#include "chat/jinja_ast.h"

namespace tandem::jinja {

// Throws jinja::Error (kSyntax) with the line of the offending token.
Body parse_template(std::string_view source);

}  // namespace tandem::jinja
