#include "openai/tool_calls/json_scan.h"

#include <nlohmann/json.hpp>

#include "openai/json_brackets.h"

namespace tandem::openai {

using nlohmann::ordered_json;

std::optional<size_t> json_value_length(std::string_view text) {
  if (text.empty() || (text[0] != '{' && text[0] != '[')) return std::nullopt;
  return scan_json_brackets(text, BracketScanStop::at_first_close).first_close;
}

namespace {

// A JSON string at text[at] ('"'): its value, and `at` moved past it; nullopt if unfinished or bad.
std::optional<std::string> read_string(std::string_view text, size_t& at) {
  if (at >= text.size() || text[at] != '"') return std::nullopt;
  size_t i = at + 1;
  while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
  if (i >= text.size()) return std::nullopt;
  const ordered_json value = ordered_json::parse(text.substr(at, i + 1 - at), nullptr, false);
  if (!value.is_string()) return std::nullopt;
  at = i + 1;
  return value.get<std::string>();
}

bool expect(std::string_view text, size_t& at, char c) {
  at += leading_space(text.substr(std::min(at, text.size())));
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

}  // namespace

std::optional<CallHead> call_head(std::string_view text) {
  size_t at = 0;
  if (!expect(text, at, '{')) return std::nullopt;
  at += leading_space(text.substr(at));
  if (read_string(text, at) != "name" || !expect(text, at, ':')) return std::nullopt;
  at += leading_space(text.substr(std::min(at, text.size())));
  std::optional<std::string> name = read_string(text, at);
  if (!name || name->empty() || !expect(text, at, ',')) return std::nullopt;
  at += leading_space(text.substr(std::min(at, text.size())));
  const std::optional<std::string> key = read_string(text, at);
  if ((key != "arguments" && key != "parameters") || !expect(text, at, ':')) return std::nullopt;
  at += leading_space(text.substr(std::min(at, text.size())));
  if (at >= text.size() || text[at] != '{') return std::nullopt;
  return CallHead{std::move(*name), at};
}

std::optional<ToolCall> tool_call_from_json(std::string_view json_text) {
  // Ordered: the arguments keep the order the model wrote them in.
  const ordered_json call = ordered_json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!call.is_object()) return std::nullopt;
  const auto name = call.find("name");
  if (name == call.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) return std::nullopt;
  auto args = call.find("arguments");
  if (args == call.end()) args = call.find("parameters");
  ordered_json arguments = ordered_json::object();
  if (args != call.end()) {
    arguments = *args;
    if (arguments.is_string()) {
      arguments = ordered_json::parse(args->get_ref<const std::string&>(), nullptr, false);
    }
    if (!arguments.is_object()) return std::nullopt;
  }
  if (std::optional<CallHead> head = call_head(json_text); head && args != call.end() && args->is_object()) {
    const std::optional<size_t> length = json_value_length(json_text.substr(head->arguments_at));
    if (length) return ToolCall{new_tool_call_id(), name->get<std::string>(), std::string(json_text.substr(head->arguments_at, *length))};
  }
  return ToolCall{new_tool_call_id(), name->get<std::string>(),
                  arguments.dump(-1, ' ', false, ordered_json::error_handler_t::replace)};
}

size_t leading_space(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
  return i;
}

size_t partial_marker_at_end(std::string_view text, std::string_view marker) {
  for (size_t n = std::min(text.size(), marker.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == marker.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace tandem::openai
