#include "openai/reply_parser.h"

#include "openai/tool_calls/hermes_parser.h"
#include "openai/tool_calls/json_scan.h"
#include "openai/tool_calls/llama3_parser.h"

namespace tandem::openai {

ReplyParser::ReplyParser(ReplyOptions options)
    : options_(options), mode_(options.starts_in_reasoning ? Mode::kReasoning : Mode::kStart) {
  skip_space_ = options.starts_in_reasoning;
}

ReplyDelta ReplyParser::feed(std::string_view piece) {
  pending_ += piece;
  return process(false);
}

ReplyDelta ReplyParser::finish() { return process(true); }

void ReplyParser::add_content(ReplyDelta& out, std::string_view text) {
  out.content += text;
  content_ += text;
}

void ReplyParser::add_reasoning(ReplyDelta& out, std::string_view text) {
  out.reasoning += text;
  reasoning_ += text;
}

namespace {

// Where the object of the call that `rest` begins with starts, when only its markup comes before.
size_t call_object_start(ToolCallFormat format, std::string_view rest) {
  size_t at = leading_space(rest);
  switch (format) {
    case ToolCallFormat::kHermes:
      if (!rest.substr(at).starts_with(kHermesCallOpen)) return std::string_view::npos;
      at += kHermesCallOpen.size();
      break;
    case ToolCallFormat::kLlama3:
      if (rest.substr(at).starts_with(";")) at += 1 + leading_space(rest.substr(at + 1));
      if (rest.substr(at).starts_with(kLlama3PythonTag)) at += kLlama3PythonTag.size();
      break;
    case ToolCallFormat::kMistral: return std::string_view::npos;  // whole calls only
  }
  at += leading_space(rest.substr(std::min(at, rest.size())));
  return at < rest.size() && rest[at] == '{' ? at : std::string_view::npos;
}

}  // namespace

// A call whose name is known and whose arguments have begun goes out as it comes.
void ReplyParser::stream_unfinished_call(ReplyDelta& out, std::string_view rest) {
  const size_t object = call_object_start(*options_.tool_format, rest);
  if (object == std::string_view::npos) return;
  const std::optional<CallHead> head = call_head(rest.substr(object));
  if (!head) return;
  if (!streaming_call_) {
    if (!may_add_call()) return;
    streaming_call_ = true;
    streaming_id_ = new_tool_call_id();
    streamed_arguments_ = 0;
    out.call_pieces.push_back({tool_calls_.size(), streaming_id_, head->name, ""});
  }
  const std::string_view arguments = rest.substr(object + head->arguments_at);
  const size_t known = json_value_length(arguments).value_or(arguments.size());
  if (known > streamed_arguments_) {
    out.call_pieces.push_back({tool_calls_.size(), "", "", std::string(arguments.substr(streamed_arguments_, known - streamed_arguments_))});
    streamed_arguments_ = known;
  }
}

void ReplyParser::add_call(ReplyDelta& out, ToolCall call) {
  const size_t index = tool_calls_.size();
  if (streaming_call_) {
    streaming_call_ = false;
    call.id = streaming_id_;
    if (call.arguments.size() > streamed_arguments_) {
      out.call_pieces.push_back({index, "", "", call.arguments.substr(streamed_arguments_)});
    }
  } else {
    out.call_pieces.push_back({index, call.id, call.name, ""});
    out.call_pieces.push_back({index, "", "", call.arguments});
  }
  tool_calls_.push_back(call);
  out.tool_calls.push_back(std::move(call));
}

ReplyDelta ReplyParser::process(bool at_end) {
  ReplyDelta out;
  while (true) {
    if (skip_space_) {
      pending_.erase(0, leading_space(pending_));
      if (pending_.empty()) return out;
      skip_space_ = false;
    }
    switch (mode_) {
      case Mode::kStart: {
        // A reply that opens with <think> reasons first; anywhere else the tag is just text.
        const std::string_view rest = std::string_view(pending_).substr(leading_space(pending_));
        if (rest.starts_with(kThinkOpen)) {
          pending_.erase(0, pending_.size() - rest.size() + kThinkOpen.size());
          mode_ = Mode::kReasoning;
          skip_space_ = true;
          continue;
        }
        if (!at_end && kThinkOpen.starts_with(rest)) return out;
        mode_ = Mode::kContent;
        continue;
      }
      case Mode::kReasoning: {
        const size_t close = pending_.find(kThinkClose);
        if (close != std::string::npos) {
          add_reasoning(out, std::string_view(pending_).substr(0, close));
          pending_.erase(0, close + kThinkClose.size());
          mode_ = Mode::kContent;
          skip_space_ = true;
          continue;
        }
        const size_t hold = at_end ? 0 : partial_marker_at_end(pending_, kThinkClose);
        add_reasoning(out, std::string_view(pending_).substr(0, pending_.size() - hold));
        pending_.erase(0, pending_.size() - hold);
        return out;
      }
      case Mode::kContent: {
        if (!options_.tool_format) {
          add_content(out, pending_);
          pending_.clear();
          return out;
        }
        const size_t from = skip_marker_ ? 1 : 0;
        const bool at_content_start = !skip_marker_ && content_.find_first_not_of(" \t\r\n") == std::string::npos;
        size_t hold = 0;
        size_t start = std::string::npos;
        if (from <= pending_.size()) {
          start = find_call_start(*options_.tool_format, std::string_view(pending_).substr(from), at_content_start, hold);
        }
        if (start != std::string::npos) {
          add_content(out, std::string_view(pending_).substr(0, from + start));
          pending_.erase(0, from + start);
          skip_marker_ = false;
          mode_ = Mode::kCalls;
          continue;
        }
        if (at_end) hold = 0;
        add_content(out, std::string_view(pending_).substr(0, pending_.size() - hold));
        pending_.erase(0, pending_.size() - hold);
        skip_marker_ = false;  // at least its first byte was shown
        return out;
      }
      case Mode::kCalls: {
        CallScan scan = scan_tool_calls(*options_.tool_format, pending_, at_end, !tool_calls_.empty());
        for (ToolCall& call : scan.calls) {
          if (!may_add_call()) break;
          add_call(out, std::move(call));
        }
        pending_.erase(0, scan.consumed);
        if (scan.state == CallScan::State::kNeedMore) {
          stream_unfinished_call(out, pending_);
          return out;
        }
        // A call streamed in part that did not end well stays as it was sent; its text is content.
        streaming_call_ = false;
        // What follows the calls is content; a marker that held no call is shown as text.
        // (Nothing taken at all: the marker itself is text, or the next round would find it again.)
        skip_marker_ = scan.state == CallScan::State::kNotCalls || scan.consumed == 0;
        mode_ = Mode::kContent;
        if (pending_.empty()) return out;
        continue;
      }
    }
  }
}

}  // namespace tandem::openai
