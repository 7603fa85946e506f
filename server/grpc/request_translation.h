#pragma once
// A gRPC ChatRequest or CompleteRequest, validated by the HTTP API's own parser: the request is
// rewritten as the OpenAI JSON body it stands for (unset optional fields left out, so they take
// the same defaults) and parsed by openai/completion_request.h. Both front doors therefore accept
// the same requests and refuse the others with the same messages, naming the same fields.

#include <string>

#include "openai/completion_request.h"
#include "tandem/v1/inference.pb.h"

namespace tandem::grpc_api {

// The JSON body of the equivalent POST /v1/chat/completions (or /v1/completions), "stream": true.
std::string openai_body(const tandem::v1::ChatRequest& request);
std::string openai_body(const tandem::v1::CompleteRequest& request);

openai::ParsedRequest parse(const tandem::v1::ChatRequest& request);
openai::ParsedRequest parse(const tandem::v1::CompleteRequest& request);

}  // namespace tandem::grpc_api
