#include "openai/tool_calls/tool_prompt.h"

#include <cctype>
#include <cstdint>

#include "openai/tool_calls/hermes_parser.h"

namespace tandem::openai {

using nlohmann::ordered_json;

namespace {

std::string dump(const ordered_json& v) { return v.dump(-1, ' ', false, ordered_json::error_handler_t::replace); }

const std::string& text_of(const ordered_json& message, const char* key) {
  static const std::string kEmpty;
  auto it = message.find(key);
  return it != message.end() && it->is_string() ? it->get_ref<const std::string&>() : kEmpty;
}

// The arguments as an object when the string holds one; otherwise as sent.
ordered_json arguments_value(const ordered_json& arguments) {
  if (!arguments.is_string()) return arguments;
  ordered_json parsed = ordered_json::parse(arguments.get_ref<const std::string&>(), nullptr, false);
  return parsed.is_object() ? parsed : arguments;
}

std::string call_block(const ordered_json& call) {
  const ordered_json& function = call.contains("function") ? call["function"] : call;
  ordered_json written = ordered_json::object();
  written["name"] = function.value("name", "");
  written["arguments"] = arguments_value(function.value("arguments", ordered_json::object()));
  std::string block(kHermesCallOpen);
  block.append("\n").append(dump(written)).append("\n").append(kHermesCallClose);
  return block;
}

}  // namespace

bool template_reads_tools(std::string_view source) { return source.find("tools") != std::string_view::npos; }

std::string hermes_tool_prompt(const ordered_json& tools) {
  std::string prompt =
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
  for (const ordered_json& tool : tools) prompt.append("\n").append(dump(tool));
  prompt +=
      "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
      "<args-json-object>}\n</tool_call>";
  return prompt;
}

ordered_json messages_for_template(const ordered_json& messages, bool calls_as_text, const std::string& tool_prompt) {
  ordered_json out = ordered_json::array();
  const bool inject = !tool_prompt.empty();
  if (inject && (messages.empty() || text_of(messages[0], "role") != "system")) {
    out.push_back({{"role", "system"}, {"content", tool_prompt}});
  }
  for (const ordered_json& message : messages) {
    ordered_json m = message;
    const std::string& role = text_of(message, "role");
    if (inject && role == "system" && out.empty()) {
      const std::string& text = text_of(message, "content");
      std::string joined = tool_prompt;
      if (!text.empty()) joined.append("\n\n").append(text);
      m["content"] = joined;
    }
    if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
      if (calls_as_text) {
        std::string content = text_of(message, "content");
        for (const ordered_json& call : m["tool_calls"]) {
          if (!content.empty()) content.append("\n");
          content.append(call_block(call));
        }
        m["content"] = content;
        m.erase("tool_calls");
      } else {
        for (ordered_json& call : m["tool_calls"]) {
          if (call.contains("function") && call["function"].is_object() && call["function"].contains("arguments")) {
            call["function"]["arguments"] = arguments_value(call["function"]["arguments"]);
          }
        }
      }
    }
    if (calls_as_text && role == "tool") {
      std::string block = "<tool_response>\n";
      block.append(text_of(message, "content")).append("\n</tool_response>");
      // Results of one turn's several calls go together in one user turn.
      if (!out.empty() && out.back().value("tool_results", false)) {
        std::string joined = text_of(out.back(), "content");
        joined.append("\n").append(block);
        out.back()["content"] = joined;
        continue;
      }
      m = {{"role", "user"}, {"content", block}, {"tool_results", true}};
    }
    out.push_back(std::move(m));
  }
  for (ordered_json& m : out) m.erase("tool_results");
  return out;
}

namespace {

bool is_mistral_id(const std::string& id) {
  if (id.size() != 9) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string mistral_id_for(const std::string& id) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs, unlike std::hash
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  std::string out(9, 'a');
  for (char& c : out) {
    c = kAlphabet[h % kAlphabet.size()];
    h /= kAlphabet.size();
  }
  return out;
}

void fix_id(ordered_json& holder, const char* key) {
  auto it = holder.find(key);
  if (it == holder.end() || !it->is_string()) return;
  const std::string& id = it->get_ref<const std::string&>();
  if (!is_mistral_id(id)) *it = mistral_id_for(id);
}

}  // namespace

void mistral_tool_call_ids(ordered_json& messages) {
  for (ordered_json& m : messages) {
    if (!m.is_object()) continue;
    fix_id(m, "tool_call_id");
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (ordered_json& call : *calls) {
        if (call.is_object()) fix_id(call, "id");
      }
    }
  }
}

}  // namespace tandem::openai
