#pragma once
// The tool fields of a chat request (tools, tool_choice, parallel_tool_calls), checked strictly:
// every error names the field at fault (tools[2].function.name) and says what to send instead.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api_error.h"

namespace tandem::openai {

enum class ToolChoice {
  kAuto,      // the model decides (the default with tools)
  kNone,      // no call: the tools still reach the template, the reply is plain content
  kRequired,  // at least one call
  kNamed,     // a call of ToolRequest::forced_name
};

struct ToolRequest {
  // The tools as the client sent them (key order kept, as transformers prints them with |tojson).
  nlohmann::ordered_json tools = nlohmann::ordered_json::array();
  ToolChoice choice = ToolChoice::kAuto;
  std::string forced_name;          // kNamed
  bool parallel_tool_calls = true;

  bool any() const { return !tools.empty(); }
  // The reply is searched for calls.
  bool calls_wanted() const { return any() && choice != ToolChoice::kNone; }
};

inline constexpr size_t kMaxTools = 128;  // OpenAI's limit

// Reads tools, tool_choice and parallel_tool_calls from the request `o`; `body` is the request's
// text, parsed again with key order kept for the tools' schemas.
std::optional<http::ApiError> read_tool_request(const nlohmann::json& o, std::string_view body, ToolRequest& out);

// An assistant message's tool_calls (at: "messages[3].tool_calls"): each
// {"id": string, "type": "function", "function": {"name": string, "arguments": string}}.
std::optional<http::ApiError> check_message_tool_calls(const nlohmann::json& calls, const std::string& at);

}  // namespace tandem::openai
