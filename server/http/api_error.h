#pragma once
// Every error the server returns, in OpenAI's shape:
//   {"error": {"message": "...", "type": "...", "param": "max_tokens" | null, "code": "..." | null}}
// with the status code that goes with it. error_response() is the one place that renders them.

#include <string>

#include "http/http_message.h"

namespace tandem::http {

struct ApiError {
  int status = 400;
  std::string message;  // says what was wrong and how to fix it
  std::string type = "invalid_request_error";
  std::string param;  // the request field at fault, "" = null
  std::string code;   // a stable machine-readable code, "" = null
  int retry_after_seconds = 0;  // > 0 adds a Retry-After header (429, 503)
};

// 400: a request the client must change (bad JSON, wrong type, out of range).
ApiError invalid_request(std::string message, std::string param = "", std::string code = "");
// 401: no key, or a key that is not configured.
ApiError unauthorized(std::string message);
// 404: no such route or model.
ApiError not_found(std::string message, std::string param = "", std::string code = "not_found");
// 405: the route exists with other methods.
ApiError method_not_allowed(std::string message);
// 413: body larger than limits.max_body_bytes.
ApiError payload_too_large(std::string message);
// 415: a Content-Encoding the server cannot decode.
ApiError unsupported_media_type(std::string message);
// 429: the queue is full; retry later.
ApiError too_many_requests(std::string message, int retry_after_seconds);
// 500: a bug in the server; the message is safe to show.
ApiError internal_error(std::string message);
// 503: no model loaded, or shutting down.
ApiError unavailable(std::string message, std::string code, int retry_after_seconds = 0);

HttpResponse error_response(const ApiError& error);

}  // namespace tandem::http
