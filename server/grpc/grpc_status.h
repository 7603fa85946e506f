#pragma once
// One mapping from the HTTP API's errors to gRPC statuses (inference.proto lists them): the
// status message is the HTTP error's message word for word, and the trailing metadata carries
// its code, param and Retry-After as tandem-error-code, tandem-error-param and retry-after.

#include <grpcpp/grpcpp.h>

#include "http/api_error.h"

namespace tandem::grpc_api {

grpc::StatusCode status_code_for(int http_status);

// The status for `error`, with its trailing metadata added to `context`.
grpc::Status to_grpc_status(const http::ApiError& error, grpc::ServerContextBase* context);

// The HTTP status a gRPC code stands for (for the shared per-route response counts in /metrics).
int http_status_for(grpc::StatusCode code);

}  // namespace tandem::grpc_api
