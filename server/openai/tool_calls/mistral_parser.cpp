#include "openai/tool_calls/mistral_parser.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "openai/tool_calls/json_scan.h"

namespace tandem::openai {
namespace {

using nlohmann::ordered_json;

// One "[TOOL_CALLS]" block at text[0]: its calls and length, nullopt for more text needed, or
// an empty vector with length 0 when it is no call.
struct Block {
  std::vector<ToolCall> calls;
  size_t length = 0;
};

std::optional<Block> scan_block(std::string_view text, bool at_end) {
  std::string_view rest = text.substr(kMistralToolCalls.size());
  const size_t space = leading_space(rest);
  rest.remove_prefix(space);
  if (rest.empty()) return at_end ? std::optional<Block>(Block{}) : std::nullopt;
  Block block;
  if (rest[0] == '[') {
    const std::optional<size_t> length = json_value_length(rest);
    if (!length) return at_end ? std::optional<Block>(Block{}) : std::nullopt;
    const ordered_json array = ordered_json::parse(rest.substr(0, *length), nullptr, false);
    if (!array.is_array() || array.empty()) return Block{};
    for (const ordered_json& item : array) {
      std::optional<ToolCall> call = tool_call_from_json(item.dump());
      if (!call) return Block{};
      block.calls.push_back(std::move(*call));
    }
    block.length = kMistralToolCalls.size() + space + *length;
    return block;
  }
  // name[ARGS]{...}: a function name is letters, digits, '_', '-' and '.'.
  const auto is_name = [](std::string_view candidate) {
    if (candidate.size() > 64) return false;
    for (char c : candidate) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
    }
    return true;
  };
  const size_t args = rest.find(kMistralArgs);
  if (args == std::string_view::npos) {
    const std::string_view name = rest.substr(0, rest.size() - partial_marker_at_end(rest, kMistralArgs));
    return !at_end && is_name(name) ? std::nullopt : std::optional<Block>(Block{});
  }
  if (!is_name(rest.substr(0, args))) return Block{};
  const std::string name(rest.substr(0, args));
  std::string_view object = rest.substr(args + kMistralArgs.size());
  if (object.empty() && !at_end) return std::nullopt;
  const std::optional<size_t> length = json_value_length(object);
  if (!length) return at_end || (!object.empty() && object[0] != '{') ? std::optional<Block>(Block{}) : std::nullopt;
  const ordered_json arguments = ordered_json::parse(object.substr(0, *length), nullptr, false);
  if (name.empty() || !arguments.is_object()) return Block{};
  std::optional<ToolCall> call = tool_call_from_json(ordered_json{{"name", name}, {"arguments", arguments}}.dump());
  if (!call) return Block{};
  block.calls.push_back(std::move(*call));
  block.length = kMistralToolCalls.size() + space + args + kMistralArgs.size() + *length;
  return block;
}

}  // namespace

CallScan scan_mistral_calls(std::string_view text, bool at_end) {
  CallScan scan;
  size_t at = 0;
  while (true) {
    const size_t start = at + leading_space(text.substr(at));
    const std::string_view rest = text.substr(start);
    if (rest.empty() || (!at_end && kMistralToolCalls.starts_with(rest))) {
      scan.state = at_end ? CallScan::State::kCalls : CallScan::State::kNeedMore;
      break;
    }
    if (!rest.starts_with(kMistralToolCalls)) {
      scan.state = scan.calls.empty() ? CallScan::State::kNotCalls : CallScan::State::kCalls;
      break;
    }
    std::optional<Block> block = scan_block(rest, at_end);
    if (!block) {
      scan.state = CallScan::State::kNeedMore;
      break;
    }
    if (block->calls.empty()) {
      scan.state = CallScan::State::kNotCalls;
      break;
    }
    for (ToolCall& call : block->calls) {
      call.id = new_mistral_tool_call_id();
      scan.calls.push_back(std::move(call));
    }
    at = start + block->length;
    scan.consumed = at;
  }
  return scan;
}

}  // namespace tandem::openai
