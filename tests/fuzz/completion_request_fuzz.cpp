// libFuzzer target: any bytes as the body of POST /v1/chat/completions or /v1/completions must
// parse to a CompletionRequest or an ApiError (a 4xx that names what is wrong), never a crash,
// deep recursion or an exception; an accepted chat request's normalised messages are valid JSON.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <variant>

#include "http/api_error.h"
#include "openai/completion_request.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "completion_request_fuzz: %s\n", what);
  std::abort();
}

void check(const tandem::openai::ParsedRequest& parsed, bool chat) {
  if (const auto* error = std::get_if<tandem::http::ApiError>(&parsed)) {
    if (error->status < 400 || error->status >= 500) fail("a bad body got a status outside 4xx");
    if (error->message.empty()) fail("an ApiError without a message");
    const auto response = tandem::http::error_response(*error);
    if (!nlohmann::json::accept(response.body)) fail("an error response that is not JSON");
    return;
  }
  const auto& request = std::get<tandem::openai::CompletionRequest>(parsed);
  if (request.chat != chat) fail("the request kind does not match the route");
  if (chat && !nlohmann::json::accept(request.messages_json)) fail("normalised messages that are not JSON");
  if (request.max_tokens && *request.max_tokens < 1) fail("a max_tokens below 1 was accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check(tandem::openai::parse_chat_request(body), /*chat=*/true);
  check(tandem::openai::parse_completion_request(body), /*chat=*/false);
  return 0;
}
