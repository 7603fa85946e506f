#pragma once
// UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.

#include <cstddef>
#include <string_view>

namespace tandem::openai {

// The byte offset of the first invalid sequence, or npos when `text` is valid UTF-8.
size_t find_invalid_utf8(std::string_view text);

}  // namespace tandem::openai
