#pragma once
// Mistral calls: [TOOL_CALLS] and a JSON array of calls,
//   [TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}}, {...}]
// or, from the tokenizer v11 models on, one "[TOOL_CALLS]name[ARGS]{...}" per call.
// [TOOL_CALLS] is a control token: the engine must show it for these calls to be seen.

#include <string_view>

#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

inline constexpr std::string_view kMistralToolCalls = "[TOOL_CALLS]";
inline constexpr std::string_view kMistralArgs = "[ARGS]";

CallScan scan_mistral_calls(std::string_view text, bool at_end);

}  // namespace tandem::openai
