#include "openai/tool_calls/tool_call_json.h"

namespace tandem::openai {

using nlohmann::json;

json tool_calls_json(const std::vector<ToolCall>& calls) {
  json out = json::array();
  for (const ToolCall& c : calls) {
    out.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  return out;
}

json tool_call_delta(const ToolCallPiece& piece) {
  json call = {{"index", piece.index}};
  if (!piece.id.empty()) {
    call["id"] = piece.id;
    call["type"] = "function";
    call["function"] = {{"name", piece.name}, {"arguments", piece.arguments}};
  } else {
    call["function"] = {{"arguments", piece.arguments}};
  }
  return {{"tool_calls", json::array({std::move(call)})}};
}

}  // namespace tandem::openai
