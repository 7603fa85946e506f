#pragma once
// Random ids for responses and tool calls ("chatcmpl-...", "call_..."): unique enough that
// clients can tell answers apart, with no meaning of their own. One generator serves all.

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::openai {

// `prefix` and 24 random hex digits (completion and tool-call ids).
std::string random_id(std::string_view prefix);
// `length` random letters and digits (Mistral's templates require 9 of them for a call id).
std::string random_alphanumeric(size_t length);

}  // namespace tandem::openai
