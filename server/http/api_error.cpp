#include "http/api_error.h"

#include <nlohmann/json.hpp>

namespace tandem::http {

ApiError invalid_request(std::string message, std::string param, std::string code) {
  return {400, std::move(message), "invalid_request_error", std::move(param), std::move(code)};
}

ApiError unauthorized(std::string message) {
  return {401, std::move(message), "invalid_request_error", "", "invalid_api_key"};
}

ApiError not_found(std::string message, std::string param, std::string code) {
  return {404, std::move(message), "invalid_request_error", std::move(param), std::move(code)};
}

ApiError method_not_allowed(std::string message) {
  return {405, std::move(message), "invalid_request_error", "", "method_not_allowed"};
}

ApiError payload_too_large(std::string message) {
  return {413, std::move(message), "invalid_request_error", "", "request_too_large"};
}

ApiError unsupported_media_type(std::string message) {
  return {415, std::move(message), "invalid_request_error", "", "unsupported_content_encoding"};
}

ApiError too_many_requests(std::string message, int retry_after_seconds) {
  return {429, std::move(message), "rate_limit_error", "", "rate_limit_exceeded", retry_after_seconds};
}

ApiError internal_error(std::string message) {
  return {500, std::move(message), "server_error", "", "internal_error"};
}

ApiError unavailable(std::string message, std::string code, int retry_after_seconds) {
  return {503, std::move(message), "server_error", "", std::move(code), retry_after_seconds};
}

HttpResponse error_response(const ApiError& error) {
  using nlohmann::json;
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json body = {{"error",
                {{"message", error.message},
                 {"type", error.type},
                 {"param", or_null(error.param)},
                 {"code", or_null(error.code)}}}};
  HttpResponse response;
  response.status = error.status;
  // Messages may quote client input; replace invalid UTF-8 rather than throw.
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  if (error.retry_after_seconds > 0) response.headers.emplace_back("Retry-After", std::to_string(error.retry_after_seconds));
  if (error.status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace tandem::http
