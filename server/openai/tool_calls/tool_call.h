#pragma once
// A function call parsed out of a model's reply, and the families of reply formats the server reads.
// Each format has its own parser file (hermes_parser, llama3_parser, mistral_parser); all of them
// share the CallScan contract below so that reply_parser.cpp can drive any of them while streaming.

#include <string>
#include <string_view>
#include <vector>

namespace tandem::openai {

struct ToolCall {
  std::string id;         // "call_" + 24 hex digits (Mistral: 9 letters and digits)
  std::string name;
  std::string arguments;  // a JSON object as text, as OpenAI sends function.arguments
};

// A streamed part of a call, as OpenAI streams delta.tool_calls: a call's first piece has its id
// and name, the following ones more of its arguments' text. A call's pieces add up to its
// ToolCall::arguments.
struct ToolCallPiece {
  size_t index = 0;  // the call's place among the reply's calls
  std::string id, name;  // first piece only
  std::string arguments;
};

enum class ToolCallFormat {
  kHermes,   // Qwen2.5, Qwen3, Hermes 2/3, and the prompt injected for templates without tools:
             // <tool_call>{"name": ..., "arguments": {...}}</tool_call>
  kLlama3,   // Llama 3.1-3.3: {"name": ..., "parameters": {...}}, optionally after <|python_tag|>
  kMistral,  // Mistral: [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...]
};

// The format a model replies in, read from its chat template's text (what the template writes
// for tool calls in earlier turns says what the model was trained to produce). Hermes when the
// template shows none: it is the format of the tool prompt injected for such templates.
ToolCallFormat tool_call_format_for_template(std::string_view template_source);
std::string_view tool_call_format_name(ToolCallFormat format);  // "hermes", "llama3", "mistral"
// The marker texts of a format's calls ("[TOOL_CALLS]", "<|python_tag|>", ...). Vocabularies may
// hold them as control tokens, which give no text unless the generation is told to show them.
std::vector<std::string> tool_call_markers(ToolCallFormat format);

// "call_" and 24 random hex digits.
std::string new_tool_call_id();
// 9 random letters and digits: Mistral's templates refuse any other id in the next turn.
std::string new_mistral_tool_call_id();

// What a format's scanner found in text that begins where a call may begin (see find_call_start).
struct CallScan {
  enum class State {
    kCalls,     // `calls` are complete; the text from `consumed` on is not a call (or is empty)
    kNeedMore,  // `calls` are complete and what follows `consumed` may be the start of another: wait
    kNotCalls,  // the text at `consumed` is not a well-formed call: it stays content
  };
  State state = State::kNotCalls;
  std::vector<ToolCall> calls;
  size_t consumed = 0;  // bytes taken by `calls` and the whitespace between them
};

// Scans `text` for calls of `format`; at_end means no more text will come (kNeedMore never
// returned then: an unfinished call is kNotCalls and stays text). after_calls: calls of this reply
// were already taken from before `text` (a streamed reply scans in pieces), so `text` may begin with
// the separator between two calls, as a whole reply's scan would have skipped it.
CallScan scan_tool_calls(ToolCallFormat format, std::string_view text, bool at_end, bool after_calls = false);

// Where, in content text that is not yet shown, a call of `format` begins: its offset, or npos.
// `at_content_start`: nothing but whitespace was shown before `text` (Llama 3 calls are a bare
// JSON object, recognised only there). `hold` is set to how many bytes at the end of `text` could
// be the beginning of a call marker and must not be shown yet.
size_t find_call_start(ToolCallFormat format, std::string_view text, bool at_content_start, size_t& hold);

}  // namespace tandem::openai
