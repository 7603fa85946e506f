#include "grpc/reply_chunks.h"

namespace tandem::grpc_api {

void merge_reply(const openai::ReplyDelta& delta, tandem::v1::ChatChunk& chunk) {
  chunk.mutable_reasoning()->append(delta.reasoning);
  chunk.mutable_text()->append(delta.content);
  for (const openai::ToolCallPiece& piece : delta.call_pieces) {
    const int32_t index = static_cast<int32_t>(piece.index);
    auto* calls = chunk.mutable_tool_calls();
    if (piece.id.empty() && !calls->empty() && calls->rbegin()->index() == index) {
      calls->rbegin()->mutable_arguments()->append(piece.arguments);
      continue;
    }
    tandem::v1::ToolCallDelta* call = chunk.add_tool_calls();
    call->set_index(index);
    call->set_id(piece.id);
    call->set_name(piece.name);
    call->set_arguments(piece.arguments);
  }
}

}  // namespace tandem::grpc_api
