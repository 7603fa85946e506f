#include "openai/response_builder.h"

#include <mutex>
#include <random>

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

std::string new_completion_id(bool chat) {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = 0, b = 0;
  {
    std::lock_guard lock(mutex);
    a = rng();
    b = rng();
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx%08llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b & 0xffffffffull));
  return std::string(chat ? "chatcmpl-" : "cmpl-") + buf;
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
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

json usage_chunk(const ResponseHeader& h, bool chat, const Usage& usage) {
  json out = base(h, chat ? "chat.completion.chunk" : "text_completion");
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out;
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string sse_data(const json& value) { return "data: " + dump(value) + "\n\n"; }

}  // namespace tandem::openai
