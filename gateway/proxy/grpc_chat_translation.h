#pragma once
// The chat parts of a gRPC link's translation (grpc_forward.h) that go beyond text: an OpenAI chat
// request's messages, tools, tool_choice, parallel_tool_calls, chat_template_kwargs and
// response_format onto a tandem.v1.ChatRequest, and a ChatChunk's reasoning and tool-call pieces
// back into the shapes the backend's HTTP API answers with (openai/response_builder.h renders both front doors' replies).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "openai/completion_request.h"
#include "openai/reply_parser.h"
#include "tandem/v1/inference.pb.h"

namespace tandem::gateway {

// `parsed`: the backend parser's reading of `body` (messages normalised as it normalises them);
// `body`: the client's request with key order kept, so the tools' schemas and the template
// variables reach the backend's chat template as the client wrote them.
void fill_chat_request(const nlohmann::ordered_json& body, const openai::CompletionRequest& parsed,
                       tandem::v1::ChatRequest& request);

// A chunk's reply parts, as the backend's ReplyParser gave them.
openai::ReplyDelta reply_delta_of(const tandem::v1::ChatChunk& chunk);

// A whole reply gathered from its chunks, for a client that did not ask for a stream.
struct ChatReply {
  std::string content, reasoning;
  std::vector<openai::ToolCall> tool_calls;
  void add(const tandem::v1::ChatChunk& chunk);
};

}  // namespace tandem::gateway
