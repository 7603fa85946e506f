#pragma once
// Small helpers the call parsers share: where a JSON value ends in streamed text, and how a call
// object ({"name": ..., "arguments" | "parameters": {...}}) becomes a ToolCall.

#include <optional>
#include <string>
#include <string_view>

#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

// The length of the JSON object or array that starts at text[0] ('{' or '['), or nullopt when the
// text ends before it closes. Only brackets and strings are tracked; the value is parsed later.
std::optional<size_t> json_value_length(std::string_view text);

// {"name": "f", "arguments": {...}} (or "parameters", which Llama 3 writes): a call with a fresh
// id; nullopt for anything else (no name, arguments that are not an object). The arguments are
// the model's own text of the object when the name comes first (so a stream can send them as they
// come and they add up to the same), else compact JSON; a JSON string holding an object is
// accepted too.
std::optional<ToolCall> tool_call_from_json(std::string_view json_text);

// The start of a call object that names its function first: {"name": "f", "arguments": {
// (or "parameters"), whitespace wherever JSON allows it; text begins at '{'. Gives the name and
// where the arguments object starts, or nullopt (not that shape, or not that far yet).
struct CallHead {
  std::string name;
  size_t arguments_at = 0;
};
std::optional<CallHead> call_head(std::string_view text);

// Bytes of whitespace at the start of `text`.
size_t leading_space(std::string_view text);

// The length of the longest end of `text` that is a proper beginning of `marker`.
size_t partial_marker_at_end(std::string_view text, std::string_view marker);

}  // namespace tandem::openai
