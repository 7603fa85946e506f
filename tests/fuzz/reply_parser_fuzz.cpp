// libFuzzer target: any model output through the reply splitter (openai/reply_parser) and the tool
// call parsers, whole and byte by byte, must never crash or throw, must split the same both ways,
// must stream call pieces that add up to the calls, and every call's arguments must be a JSON
// object. The first byte picks the options: the call format (none, Hermes, Llama 3, Mistral), a
// prompt that opened <think>, parallel_tool_calls.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "openai/reply_parser.h"

namespace {

using tandem::openai::ReplyDelta;
using tandem::openai::ReplyOptions;
using tandem::openai::ReplyParser;
using tandem::openai::ToolCallFormat;
using tandem::openai::ToolCallPiece;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "reply_parser_fuzz: %s\n", what);
  std::abort();
}

struct Seen {
  std::string reasoning, content;
  std::vector<ToolCallPiece> streamed;  // per call: the first piece, arguments joined
};

void take(Seen& seen, const ReplyDelta& d) {
  seen.reasoning += d.reasoning;
  seen.content += d.content;
  for (const ToolCallPiece& piece : d.call_pieces) {
    if (!piece.id.empty()) {
      if (piece.index != seen.streamed.size()) fail("a call's first piece out of order");
      seen.streamed.push_back(piece);
    } else {
      if (piece.index >= seen.streamed.size()) fail("arguments for a call that has not begun");
      seen.streamed[piece.index].arguments += piece.arguments;
    }
  }
}

// The pieces of every finished call add up to it (a call streamed in part that never finished may
// stand alone at the end).
void check_calls(const Seen& seen, const ReplyParser& parser) {
  const auto& calls = parser.tool_calls();
  if (seen.streamed.size() < calls.size() || seen.streamed.size() > calls.size() + 1) fail("pieces and calls differ");
  for (size_t i = 0; i < calls.size(); ++i) {
    if (seen.streamed[i].id != calls[i].id || seen.streamed[i].name != calls[i].name ||
        seen.streamed[i].arguments != calls[i].arguments) {
      fail("a call's pieces do not add up to it");
    }
    if (!nlohmann::json::parse(calls[i].arguments, nullptr, false).is_object()) fail("arguments that are no object");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ReplyOptions options;
  switch (data[0] & 3) {
    case 1: options.tool_format = ToolCallFormat::kHermes; break;
    case 2: options.tool_format = ToolCallFormat::kLlama3; break;
    case 3: options.tool_format = ToolCallFormat::kMistral; break;
    default: break;
  }
  options.starts_in_reasoning = (data[0] & 4) != 0;
  options.parallel_tool_calls = (data[0] & 8) == 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  ReplyParser whole(options);
  Seen a;
  take(a, whole.feed(text));
  take(a, whole.finish());
  check_calls(a, whole);

  ReplyParser bytes(options);
  Seen b;
  for (char c : text) take(b, bytes.feed(std::string_view(&c, 1)));
  take(b, bytes.finish());
  check_calls(b, bytes);

  if (a.reasoning != b.reasoning || a.content != b.content) fail("whole and byte-by-byte split differently");
  if (whole.tool_calls().size() != bytes.tool_calls().size()) fail("whole and byte-by-byte found different calls");
  for (size_t i = 0; i < whole.tool_calls().size(); ++i) {
    if (whole.tool_calls()[i].name != bytes.tool_calls()[i].name ||
        whole.tool_calls()[i].arguments != bytes.tool_calls()[i].arguments) {
      fail("whole and byte-by-byte calls differ");
    }
  }
  return 0;
}
