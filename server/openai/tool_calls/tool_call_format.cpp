#include "openai/random_id.h"
#include "openai/tool_calls/hermes_parser.h"
#include "openai/tool_calls/json_scan.h"
#include "openai/tool_calls/llama3_parser.h"
#include "openai/tool_calls/mistral_parser.h"
#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

ToolCallFormat tool_call_format_for_template(std::string_view source) {
  if (source.find(kMistralToolCalls) != std::string_view::npos) return ToolCallFormat::kMistral;
  if (source.find(kHermesCallOpen) != std::string_view::npos) return ToolCallFormat::kHermes;
  // Llama 3.1 writes <|python_tag|>; 3.2 and 3.3 name the tool results' role "ipython".
  if (source.find(kLlama3PythonTag) != std::string_view::npos || source.find("ipython") != std::string_view::npos) {
    return ToolCallFormat::kLlama3;
  }
  return ToolCallFormat::kHermes;
}

std::string_view tool_call_format_name(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::kHermes: return "hermes";
    case ToolCallFormat::kLlama3: return "llama3";
    case ToolCallFormat::kMistral: return "mistral";
  }
  return "hermes";
}

std::vector<std::string> tool_call_markers(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::kHermes: return {std::string(kHermesCallOpen), std::string(kHermesCallClose)};
    case ToolCallFormat::kLlama3: return {std::string(kLlama3PythonTag)};
    case ToolCallFormat::kMistral: return {std::string(kMistralToolCalls), std::string(kMistralArgs)};
  }
  return {};
}

std::string new_tool_call_id() { return random_id("call_"); }

std::string new_mistral_tool_call_id() { return random_alphanumeric(9); }

CallScan scan_tool_calls(ToolCallFormat format, std::string_view text, bool at_end, bool after_calls) {
  switch (format) {
    case ToolCallFormat::kHermes: return scan_hermes_calls(text, at_end);
    case ToolCallFormat::kLlama3: return scan_llama3_calls(text, at_end, after_calls);
    case ToolCallFormat::kMistral: return scan_mistral_calls(text, at_end);
  }
  return {};
}

namespace {

size_t find_marker(std::string_view text, std::string_view marker, size_t& hold) {
  const size_t at = text.find(marker);
  hold = at == std::string_view::npos ? partial_marker_at_end(text, marker) : 0;
  return at;
}

}  // namespace

size_t find_call_start(ToolCallFormat format, std::string_view text, bool at_content_start, size_t& hold) {
  switch (format) {
    case ToolCallFormat::kHermes: return find_marker(text, kHermesCallOpen, hold);
    case ToolCallFormat::kMistral: return find_marker(text, kMistralToolCalls, hold);
    case ToolCallFormat::kLlama3: {
      if (at_content_start) {
        const size_t space = leading_space(text);
        const std::string_view rest = text.substr(space);
        hold = 0;
        if (rest.starts_with("{") || rest.starts_with(kLlama3PythonTag)) return space;
        if (kLlama3PythonTag.starts_with(rest)) {  // whitespace only, or the tag's beginning
          hold = text.size();
          return std::string_view::npos;
        }
      }
      return find_marker(text, kLlama3PythonTag, hold);
    }
  }
  hold = 0;
  return std::string_view::npos;
}

}  // namespace tandem::openai
