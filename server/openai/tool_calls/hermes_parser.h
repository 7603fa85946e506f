#pragma once
// Hermes-style calls (Qwen2.5, Qwen3, Hermes 2 Pro / 3, and the tool prompt this server injects):
//   <tool_call>
//   {"name": "get_weather", "arguments": {"city": "Paris"}}
//   </tool_call>
// one block per call, possibly several in a row.

#include <string_view>

#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

inline constexpr std::string_view kHermesCallOpen = "<tool_call>";
inline constexpr std::string_view kHermesCallClose = "</tool_call>";

CallScan scan_hermes_calls(std::string_view text, bool at_end);

}  // namespace tandem::openai
