#pragma once
// A chat reply's parts (openai/reply_parser.h) into the Chat stream's chunks: the same split the
// HTTP API streams as delta.content, delta.reasoning_content and delta.tool_calls, in the proto's
// fields text, reasoning and tool_calls.

#include "openai/reply_parser.h"
#include "tandem/v1/inference.pb.h"

namespace tandem::grpc_api {

// Appends `delta` to `chunk`, a chunk not yet written: text and reasoning are appended, and a call
// piece that continues the chunk's last piece of the same call joins its arguments (a reader that
// is slower than the model gets fewer, larger chunks, never a different reply).
void merge_reply(const openai::ReplyDelta& delta, tandem::v1::ChatChunk& chunk);

}  // namespace tandem::grpc_api
