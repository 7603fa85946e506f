#pragma once
// Parsing and strict validation of the bodies of POST /v1/chat/completions and POST /v1/completions.
// Everything that can be checked without the model is checked here, so a bad request is refused
// before it queues; each error names the field (ApiError::param) and says how to fix it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "http/api_error.h"
#include "openai/tool_calls/tool_request.h"
#include "sampling/sampling_params.h"

namespace tandem::openai {

inline constexpr int32_t kMaxChoices = 16;  // the largest n a request may ask for (multi_choice.h)

struct CompletionRequest {
  bool chat = false;
  std::string model;
  std::string prompt;         // completions
  std::string messages_json;  // chat: the messages, normalised (text content, known fields only)
  SamplingParams sampling;
  std::optional<int32_t> max_tokens;  // max_completion_tokens wins over max_tokens when both are given
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // -1: no logprobs. Chat: top_logprobs when logprobs is true; completions: the integer logprobs.
  int32_t top_logprobs = -1;
  ToolRequest tools;  // chat: tools, tool_choice, parallel_tool_calls
  // Chat: chat_template_kwargs, further template variables ({"enable_thinking": false}), as JSON.
  std::string chat_template_kwargs_json = "{}";
  int32_t n = 1;  // choices to generate, 1..kMaxChoices
};

using ParsedRequest = std::variant<CompletionRequest, http::ApiError>;

ParsedRequest parse_chat_request(std::string_view body);
ParsedRequest parse_completion_request(std::string_view body);

}  // namespace tandem::openai
