#pragma once
// The JSON objects of OpenAI's chat and text completion responses, whole and as stream chunks.
// Pure functions of their inputs; the server's streaming and buffering code assembles them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <span>

#include "openai/reply_parser.h"
#include "tandem/engine.h"

namespace tandem::openai {

struct Usage {
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
};

// llama.cpp's server "timings": prompt_n counts the prompt tokens computed (cache_n more were
// reused from an earlier request), predicted_n the generated ones; ms and per-second rates of each.
struct Timings {
  int32_t prompt_n = 0;
  int32_t cache_n = 0;
  double prompt_ms = 0;
  int32_t predicted_n = 0;
  double predicted_ms = 0;
};

nlohmann::json timings_json(const Timings& t);

// OpenAI's logprobs objects for the tokens generated since the last call. Chat:
// {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}.
// Completions: {"tokens", "token_logprobs", "top_logprobs": [{text: logprob}], "text_offset"},
// text_offset counting bytes of the completion from `text_offset` on (advanced past these tokens).
// A logprob of -inf (a banned token forced by the model) is sent as -9999.0, as OpenAI does.
nlohmann::json chat_logprobs_json(std::span<const TokenLogprobs> tokens);
nlohmann::json text_logprobs_json(std::span<const TokenLogprobs> tokens, size_t& text_offset);

struct ResponseHeader {
  std::string id;  // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;
  std::string model;
};

// "chatcmpl-" or "cmpl-" and 24 random hex digits.
std::string new_completion_id(bool chat);

nlohmann::json usage_json(const Usage& usage);

nlohmann::json chat_completion(const ResponseHeader& h, std::string_view text, std::string_view finish_reason,
                               const Usage& usage);
nlohmann::json text_completion(const ResponseHeader& h, std::string_view text, std::string_view finish_reason,
                               const Usage& usage);

// A chunk carrying `delta` (chat) or text (completions); finish_reason empty = null. With
// include_usage the chunk has "usage": null, as OpenAI sends on every chunk but the last.
nlohmann::json chat_chunk(const ResponseHeader& h, nlohmann::json delta, std::string_view finish_reason,
                          bool include_usage);
nlohmann::json text_chunk(const ResponseHeader& h, std::string_view text, std::string_view finish_reason,
                          bool include_usage);
// The deltas that stream a chat reply's new parts (reply_parser.h): reasoning_content and content
// in one, then one per piece of a tool call (tool_call_delta); none for a delta that decided
// nothing yet. The HTTP API streams these, and the gateway renders a gRPC link's chunks with them.
std::vector<nlohmann::json> chat_reply_deltas(const ReplyDelta& delta);
// A whole chat reply's parts into its choice: message.content (null beside tool calls, as OpenAI
// sends it), reasoning_content, tool_calls, and finish_reason "tool_calls" when there are calls.
void put_chat_reply(nlohmann::json& choice, const std::string& content, const std::string& reasoning,
                    const std::vector<ToolCall>& calls);
// The last chunk of stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk(const ResponseHeader& h, bool chat, const Usage& usage);

// One server-sent event: "data: {json}\n\n". Invalid UTF-8 is replaced, never thrown on.
std::string sse_data(const nlohmann::json& value);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// JSON text with invalid UTF-8 replaced (U+FFFD) instead of an exception.
std::string dump(const nlohmann::json& value);

}  // namespace tandem::openai
