#include "openai/response_builder.h"

#include <cmath>

#include "openai/random_id.h"
#include "openai/tool_calls/tool_call_json.h"

namespace tandem::openai {

using nlohmann::json;

namespace {

json finish_json(std::string_view finish_reason) {
  return finish_reason.empty() ? json(nullptr) : json(std::string(finish_reason));
}

json base(const ResponseHeader& h, const char* object) {
  return json{{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model},
              {"system_fingerprint", "tandem"}};
}

}  // namespace

std::string new_completion_id(bool chat) { return random_id(chat ? "chatcmpl-" : "cmpl-"); }

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json timings_json(const Timings& t) {
  // A rate over no time (or no tokens) is 0, never inf or NaN, which JSON cannot carry.
  const auto per_token = [](double ms, int32_t n) { return n > 0 ? ms / n : 0.0; };
  const auto per_second = [](double ms, int32_t n) { return ms > 0 ? 1000.0 * n / ms : 0.0; };
  return {{"cache_n", t.cache_n},
          {"prompt_n", t.prompt_n},
          {"prompt_ms", t.prompt_ms},
          {"prompt_per_token_ms", per_token(t.prompt_ms, t.prompt_n)},
          {"prompt_per_second", per_second(t.prompt_ms, t.prompt_n)},
          {"predicted_n", t.predicted_n},
          {"predicted_ms", t.predicted_ms},
          {"predicted_per_token_ms", per_token(t.predicted_ms, t.predicted_n)},
          {"predicted_per_second", per_second(t.predicted_ms, t.predicted_n)}};
}

namespace {

double finite_logprob(float logprob) { return std::isfinite(logprob) ? logprob : -9999.0; }

json bytes_of(const std::string& text) {
  json bytes = json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

}  // namespace

json chat_logprobs_json(std::span<const TokenLogprobs> tokens) {
  json content = json::array();
  for (const TokenLogprobs& t : tokens) {
    json top = json::array();
    for (const TokenAlternative& a : t.top) {
      top.push_back({{"token", a.text}, {"logprob", finite_logprob(a.logprob)}, {"bytes", bytes_of(a.text)}});
    }
    content.push_back({{"token", t.token.text},
                       {"logprob", finite_logprob(t.token.logprob)},
                       {"bytes", bytes_of(t.token.text)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

json text_logprobs_json(std::span<const TokenLogprobs> tokens, size_t& text_offset) {
  json texts = json::array(), logprobs = json::array(), tops = json::array(), offsets = json::array();
  for (const TokenLogprobs& t : tokens) {
    texts.push_back(t.token.text);
    logprobs.push_back(finite_logprob(t.token.logprob));
    json top = json::object();
    for (const TokenAlternative& a : t.top) {
      if (!top.contains(a.text)) top[a.text] = finite_logprob(a.logprob);  // two tokens, one text: the likelier
    }
    tops.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += t.token.text.size();
  }
  return {{"tokens", std::move(texts)},
          {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

json chat_completion(const ResponseHeader& h, std::string_view text, std::string_view finish_reason, const Usage& usage) {
  json out = base(h, "chat.completion");
  out["choices"] = json::array({json{{"index", 0},
                                     {"message", {{"role", "assistant"}, {"content", std::string(text)}}},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish_json(finish_reason)}}});
  out["usage"] = usage_json(usage);
  return out;
}

json text_completion(const ResponseHeader& h, std::string_view text, std::string_view finish_reason, const Usage& usage) {
  json out = base(h, "text_completion");
  out["choices"] = json::array({json{{"index", 0},
                                     {"text", std::string(text)},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish_json(finish_reason)}}});
  out["usage"] = usage_json(usage);
  return out;
}

json chat_chunk(const ResponseHeader& h, json delta, std::string_view finish_reason, bool include_usage) {
  json out = base(h, "chat.completion.chunk");
  out["choices"] = json::array(
      {json{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish_reason)}}});
  if (include_usage) out["usage"] = nullptr;
  return out;
}

json text_chunk(const ResponseHeader& h, std::string_view text, std::string_view finish_reason, bool include_usage) {
  json out = base(h, "text_completion");
  out["choices"] = json::array({json{{"index", 0},
                                     {"text", std::string(text)},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish_json(finish_reason)}}});
  if (include_usage) out["usage"] = nullptr;
  return out;
}

std::vector<json> chat_reply_deltas(const ReplyDelta& d) {
  std::vector<json> deltas;
  json delta = json::object();
  if (!d.reasoning.empty()) delta["reasoning_content"] = d.reasoning;
  if (!d.content.empty()) delta["content"] = d.content;
  if (!delta.empty()) deltas.push_back(std::move(delta));
  for (const ToolCallPiece& piece : d.call_pieces) deltas.push_back(tool_call_delta(piece));
  return deltas;
}

void put_chat_reply(json& choice, const std::string& content, const std::string& reasoning,
                    const std::vector<ToolCall>& calls) {
  json& message = choice["message"];
  message["content"] = content;
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;
  if (!calls.empty()) {
    if (content.empty()) message["content"] = nullptr;
    message["tool_calls"] = tool_calls_json(calls);
    choice["finish_reason"] = "tool_calls";
  }
}

json usage_chunk(const ResponseHeader& h, bool chat, const Usage& usage) {
  json out = base(h, chat ? "chat.completion.chunk" : "text_completion");
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out;
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse_data(const json& value) { return "data: " + dump(value) + "\n\n"; }

}  // namespace tandem::openai
