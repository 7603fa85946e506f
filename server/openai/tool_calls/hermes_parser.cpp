#include "openai/tool_calls/hermes_parser.h"

#include "openai/tool_calls/json_scan.h"

namespace tandem::openai {

CallScan scan_hermes_calls(std::string_view text, bool at_end) {
  CallScan scan;
  size_t at = 0;
  while (true) {
    const size_t start = at + leading_space(text.substr(at));
    const std::string_view rest = text.substr(start);
    if (rest.empty()) {
      scan.state = at_end ? CallScan::State::kCalls : CallScan::State::kNeedMore;
      break;
    }
    if (!rest.starts_with(kHermesCallOpen)) {
      const bool maybe_open = kHermesCallOpen.starts_with(rest);
      scan.state = maybe_open && !at_end ? CallScan::State::kNeedMore
                   : scan.calls.empty()  ? CallScan::State::kNotCalls
                                         : CallScan::State::kCalls;
      break;
    }
    const std::string_view body = rest.substr(kHermesCallOpen.size());
    const size_t close = body.find(kHermesCallClose);
    std::string_view json_text;
    size_t length = 0;
    if (close != std::string_view::npos) {
      json_text = body.substr(0, close);
      length = kHermesCallOpen.size() + close + kHermesCallClose.size();
    } else if (at_end) {
      json_text = body;  // a model that stops right after the JSON, without the closing tag
      length = rest.size();
    } else {
      scan.state = CallScan::State::kNeedMore;
      break;
    }
    const size_t json_start = leading_space(json_text);
    std::optional<ToolCall> call = tool_call_from_json(json_text.substr(json_start));
    if (!call) {
      scan.state = CallScan::State::kNotCalls;
      break;
    }
    scan.calls.push_back(std::move(*call));
    at = start + length;
    scan.consumed = at;
  }
  return scan;
}

}  // namespace tandem::openai
