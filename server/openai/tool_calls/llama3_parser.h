#pragma once
// Llama 3.1-3.3 custom tool calls: the reply is a bare JSON object,
//   {"name": "get_weather", "parameters": {"city": "Paris"}}
// optionally after <|python_tag|> (when the engine shows that token) and, from models that make
// several calls, separated by ';' or new lines. Recognised only at the start of the reply: a JSON
// object in the middle of prose is prose.

#include <string_view>

#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

inline constexpr std::string_view kLlama3PythonTag = "<|python_tag|>";

// after_calls: see scan_tool_calls (the "; " between two Llama 3 calls may come first).
CallScan scan_llama3_calls(std::string_view text, bool at_end, bool after_calls = false);

}  // namespace tandem::openai
