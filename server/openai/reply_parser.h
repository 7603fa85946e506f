#pragma once
// Splits a chat reply, as it streams in, into reasoning (<think>...</think>), the answer's content,
// and tool calls. One parser serves both the streamed and the whole responses, so both give the
// same split. Text that could still turn out to be a tag or a call marker is held back until it
// is decided, so a stream never shows half a tag as content.
//
//   ReplyParser parser(options);
//   for (piece : generated text) send(parser.feed(piece));
//   send(parser.finish());

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openai/tool_calls/tool_call.h"

namespace tandem::openai {

inline constexpr std::string_view kThinkOpen = "<think>";
inline constexpr std::string_view kThinkClose = "</think>";

struct ReplyOptions {
  // The prompt ends inside an open <think> (the template opened it): the reply starts as reasoning.
  bool starts_in_reasoning = false;
  // Tools are on: calls of this format are taken out of the content.
  std::optional<ToolCallFormat> tool_format;
  // false: a call after the first is dropped (parallel_tool_calls: false).
  bool parallel_tool_calls = true;
};

// What one piece of generated text added.
struct ReplyDelta {
  std::string reasoning;
  std::string content;
  std::vector<ToolCallPiece> call_pieces;
  std::vector<ToolCall> tool_calls;  // calls completed by this piece
  bool empty() const { return reasoning.empty() && content.empty() && call_pieces.empty() && tool_calls.empty(); }
};

class ReplyParser {
 public:
  explicit ReplyParser(ReplyOptions options);

  ReplyDelta feed(std::string_view piece);
  // The reply ended: whatever was held back is decided (an unfinished call stays content).
  ReplyDelta finish();

  // Everything returned so far.
  const std::string& reasoning() const { return reasoning_; }
  const std::string& content() const { return content_; }
  const std::vector<ToolCall>& tool_calls() const { return tool_calls_; }

 private:
  enum class Mode { kStart, kReasoning, kContent, kCalls };
  ReplyDelta process(bool at_end);
  void add_content(ReplyDelta& out, std::string_view text);
  void add_reasoning(ReplyDelta& out, std::string_view text);
  void stream_unfinished_call(ReplyDelta& out, std::string_view rest);
  void add_call(ReplyDelta& out, ToolCall call);
  bool may_add_call() const { return options_.parallel_tool_calls || tool_calls_.empty(); }

  ReplyOptions options_;
  Mode mode_;
  std::string pending_;           // received, not yet decided
  bool skip_space_ = false;       // whitespace right after a think tag is layout, not text
  bool skip_marker_ = false;      // the call marker at pending_[0] did not hold a call
  // The call being streamed before it is complete: its id, and how much of its arguments went out.
  bool streaming_call_ = false;
  std::string streaming_id_;
  size_t streamed_arguments_ = 0;
  std::string reasoning_, content_;
  std::vector<ToolCall> tool_calls_;
};

}  // namespace tandem::openai
