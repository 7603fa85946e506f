#pragma once
// A reply's parts into the stream's chunks: a chat reply (openai/reply_parser.h) split as the HTTP
// API streams it (delta.content, delta.reasoning_content and delta.tool_calls, in the proto's
// fields text, reasoning and tool_calls), and the generated tokens' log probabilities as the
// proto's TokenLogprob entries (the values the HTTP API's logprobs objects give).

#include <span>
#include <string>
#include <string_view>

#include "openai/reply_parser.h"
#include "tandem/engine.h"
#include "tandem/v1/inference.pb.h"

namespace tandem::grpc_api {

// Appends `delta` to `chunk`, a chunk not yet written: text and reasoning are appended, and a call
// piece that continues the chunk's last piece of the same call joins its arguments (a reader that
// is slower than the model gets fewer, larger chunks, never a different reply).
void merge_reply(const openai::ReplyDelta& delta, tandem::v1::ChatChunk& chunk);

// Appends one TokenLogprob per token: the exact bytes in `bytes`, the text as the HTTP API's JSON
// shows it (invalid UTF-8 replaced by U+FFFD: a proto string must be UTF-8), and a logprob of
// -infinity as -9999, as the HTTP API sends it.
void append_logprobs(std::span<const TokenLogprobs> tokens,
                     google::protobuf::RepeatedPtrField<tandem::v1::TokenLogprob>& out);

// `bytes` as valid UTF-8, each invalid sequence replaced as the HTTP API's JSON replaces it.
std::string utf8_text(std::string_view bytes);

}  // namespace tandem::grpc_api
