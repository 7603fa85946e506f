#pragma once
// How JSON text nests, found without parsing it: one walk over the bytes that skips strings (and
// the escaped byte after each backslash in them) and counts '{' '[' against '}' ']'. The request
// parser uses it to refuse a hostile nesting depth before nlohmann sees the body; the tool-call
// parsers use it to find where a streamed object ends. Nothing is validated: "[}" closes.

#include <cstddef>
#include <optional>
#include <string_view>

namespace tandem::openai {

struct BracketScan {
  // One past the bracket that first brings the depth back to zero (the end of the value that
  // starts at text[0] when that is a bracket); nullopt when the text ends first.
  std::optional<size_t> first_close;
  // The deepest nesting seen in the bytes scanned: "[{}]" is 2.
  int max_depth = 0;
};

enum class BracketScanStop {
  at_first_close,  // stop at first_close: the rest of the text is not looked at
  at_text_end,     // scan everything (max_depth covers the whole text)
};

BracketScan scan_json_brackets(std::string_view text, BracketScanStop stop);

}  // namespace tandem::openai
