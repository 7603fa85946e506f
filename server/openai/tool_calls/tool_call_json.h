#pragma once
// Tool calls in OpenAI's response shapes: message.tool_calls, and the delta.tool_calls fragments
// a stream sends for a call (first its index, id, type and name, then its arguments in pieces).

#include <vector>

#include <nlohmann/json.hpp>

#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

// [{"id", "type": "function", "function": {"name", "arguments"}}]
nlohmann::json tool_calls_json(const std::vector<ToolCall>& calls);

// The delta ({"tool_calls": [...]}) that streams one piece of a call: the first with index, id,
// type and function.name (and whatever arguments came with it), the others index and arguments.
nlohmann::json tool_call_delta(const ToolCallPiece& piece);

}  // namespace tandem::openai
