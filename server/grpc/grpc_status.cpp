#include "grpc/grpc_status.h"

#include <string>

namespace tandem::grpc_api {

grpc::StatusCode status_code_for(int http_status) {
  switch (http_status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 401: return grpc::StatusCode::UNAUTHENTICATED;
    case 403: return grpc::StatusCode::PERMISSION_DENIED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 413: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 429: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 499: return grpc::StatusCode::CANCELLED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    default: return http_status >= 400 && http_status < 500 ? grpc::StatusCode::INVALID_ARGUMENT
                                                             : grpc::StatusCode::INTERNAL;
  }
}

grpc::Status to_grpc_status(const http::ApiError& error, grpc::ServerContextBase* context) {
  if (context) {
    if (!error.code.empty()) context->AddTrailingMetadata("tandem-error-code", error.code);
    if (!error.param.empty()) context->AddTrailingMetadata("tandem-error-param", error.param);
    if (error.retry_after_seconds > 0) {
      context->AddTrailingMetadata("retry-after", std::to_string(error.retry_after_seconds));
    }
  }
  return grpc::Status(status_code_for(error.status), error.message);
}

int http_status_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::INVALID_ARGUMENT: return 400;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::CANCELLED: return 499;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    default: return 500;
  }
}

}  // namespace tandem::grpc_api
