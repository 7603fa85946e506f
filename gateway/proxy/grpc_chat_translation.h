#pragma once
// The parts of a gRPC link's translation (grpc_forward.h) that go beyond text: an OpenAI chat
// request's messages, tools, tool_choice, parallel_tool_calls, chat_template_kwargs and
// response_format onto a tandem.v1.ChatRequest, logprobs, top_logprobs and n onto either request,
// and the chunks' reasoning, tool-call pieces, log probabilities and choices back into the shapes
// the backend's HTTP API answers with (openai/response_builder.h and openai/multi_choice.h render
// both front doors' replies).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "openai/completion_request.h"
#include "openai/reply_parser.h"
#include "openai/response_builder.h"
#include "tandem/engine.h"
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

// logprobs and top_logprobs (chat) or the integer logprobs (completions), and n, as `parsed` (the
// backend parser's reading of the client's request) has them; left unset at their defaults.
void fill_choices(const openai::CompletionRequest& parsed, tandem::v1::ChatRequest& request);
void fill_choices(const openai::CompletionRequest& parsed, tandem::v1::CompleteRequest& request);

// A chunk's TokenLogprob entries as the engine gave them (their exact bytes, the float logprob).
std::vector<TokenLogprobs> token_logprobs_of(
    const google::protobuf::RepeatedPtrField<tandem::v1::TokenLogprob>& entries);

// The n choices of one request (tandem.v1 ChatChunk or CompleteChunk) as their chunks arrive, and
// the answer the backend's HTTP API gives for them: streamed, each choice's events with its index
// (its role announcement first, for chat), its logprobs on the event that carries their text, and
// its end (finish_reason, timings) as soon as it ends; whole, the choices merged as multi_choice.h
// merges them.
template <class Chunk>
class ChoiceReplies {
 public:
  ChoiceReplies(bool chat, bool logprobs, int32_t n);

  // Adds a chunk to its choice and gives the stream events it makes (for a stream; a whole answer
  // ignores them). Nullopt when the chunk's index names no choice of the request.
  std::optional<std::vector<nlohmann::json>> add(const Chunk& chunk, const openai::ResponseHeader& header,
                                                 bool include_usage);
  bool all_finished() const;
  // The whole answer's body, once all_finished().
  nlohmann::json whole_body(const openai::ResponseHeader& header) const;
  // stream_options.include_usage's usage: the prompt once, the choices' completion tokens summed.
  openai::Usage usage() const;

 private:
  struct Choice {
    ChatReply reply;                    // chat
    std::string text;                   // completions
    std::vector<TokenLogprobs> tokens;  // all of the choice's tokens, for a whole answer
    std::vector<TokenLogprobs> pending; // not yet attached to an event
    size_t text_offset = 0;             // completions' text_offset, streamed
    bool announced = false;             // chat: the role chunk went out
    std::optional<Chunk> last;          // the chunk with finish_reason
  };
  void attach_logprobs(Choice& c, nlohmann::json& event);

  bool chat_;
  bool logprobs_;
  std::vector<Choice> choices_;
};

}  // namespace tandem::gateway
