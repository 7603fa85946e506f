#include "grpc/reply_chunks.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "openai/utf8.h"

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

std::string utf8_text(std::string_view bytes) {
  if (openai::find_invalid_utf8(bytes) == std::string_view::npos) return std::string(bytes);
  // The JSON library's own replacement, so the text is the one the HTTP API's body carries.
  const std::string quoted = nlohmann::json(std::string(bytes)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(quoted).get<std::string>();
}

namespace {

double reported_logprob(float logprob) { return std::isfinite(logprob) ? static_cast<double>(logprob) : -9999.0; }

template <class Entry>
void fill(const TokenAlternative& token, Entry& entry) {
  entry.set_token(utf8_text(token.text));
  entry.set_logprob(reported_logprob(token.logprob));
  entry.set_bytes(token.text);
  entry.set_token_id(token.id);
}

}  // namespace

void append_logprobs(std::span<const TokenLogprobs> tokens,
                     google::protobuf::RepeatedPtrField<tandem::v1::TokenLogprob>& out) {
  for (const TokenLogprobs& t : tokens) {
    tandem::v1::TokenLogprob* entry = out.Add();
    fill(t.token, *entry);
    for (const TokenAlternative& a : t.top) fill(a, *entry->add_top_logprobs());
  }
}

}  // namespace tandem::grpc_api
