#include "openai/tool_calls/llama3_parser.h"

#include "openai/tool_calls/json_scan.h"

namespace tandem::openai {

CallScan scan_llama3_calls(std::string_view text, bool at_end, bool after_calls) {
  CallScan scan;
  size_t at = 0;
  while (true) {
    size_t start = at + leading_space(text.substr(at));
    if ((after_calls || !scan.calls.empty()) && start < text.size() && text[start] == ';') start += 1 + leading_space(text.substr(start + 1));
    std::string_view rest = text.substr(start);
    if (rest.starts_with(kLlama3PythonTag)) rest.remove_prefix(kLlama3PythonTag.size());
    const size_t skipped = text.size() - start - rest.size();
    if (rest.empty() || (!at_end && kLlama3PythonTag.starts_with(rest))) {
      scan.state = at_end ? CallScan::State::kCalls : CallScan::State::kNeedMore;
      break;
    }
    if (rest[0] != '{') {
      scan.state = scan.calls.empty() ? CallScan::State::kNotCalls : CallScan::State::kCalls;
      break;
    }
    const std::optional<size_t> length = json_value_length(rest);
    if (!length) {
      scan.state = at_end ? CallScan::State::kNotCalls : CallScan::State::kNeedMore;
      break;
    }
    std::optional<ToolCall> call = tool_call_from_json(rest.substr(0, *length));
    if (!call) {
      scan.state = CallScan::State::kNotCalls;
      break;
    }
    scan.calls.push_back(std::move(*call));
    at = start + skipped + *length;
    scan.consumed = at;
  }
  return scan;
}

}  // namespace tandem::openai
