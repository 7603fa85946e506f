#pragma once
// Forwarding one OpenAI HTTP request over a gRPC link (proxy.h's rules, the gRPC way):
// POST /v1/chat/completions and /v1/completions become tandem.v1.Inference Chat and Complete, and
// the streamed chunks come back as the same server-sent events (or the same whole JSON body) the
// backend's HTTP API sends, "timings" and stream_options.include_usage included. A gRPC error
// becomes the HTTP error it stands for (inference.proto's table), with the backend's message.
//
// The request is checked first by the backend's own parser (openai/completion_request.h), so a
// bad request gets the same 400 over either kind of link. Every field it accepts is carried
// (sampling, stop, logit_bias; messages with their name, tool_calls and tool_call_id, tools,
// tool_choice, parallel_tool_calls, chat_template_kwargs and response_format:
// grpc_chat_translation.h) or answered by the gateway itself (stream, stream_options), or is one
// the backend ignores over HTTP too (user, metadata, store, service_tier, reasoning_effort,
// modalities). logprobs, top_logprobs and n are carried too: the chunks' log probabilities come
// back as the HTTP API's logprobs objects, and n > 1 choices as its interleaved stream (each event
// with its choice's index) or its merged whole body (grpc_chat_translation.h). A chat reply comes
// back split as the HTTP API splits it: content, reasoning_content and tool_calls (streamed as
// delta.tool_calls pieces), finish_reason "tool_calls".
//
// Timeouts, as an HTTP link's (gateway_options.cpp): `idle` bounds each wait on the link, for the
// first chunk (a queued generation waits too) and for every next one, so a long generation that
// keeps sending is never cut and a stalled one is; `total` (0 = none) caps the whole call. A call
// cut by either fails like an HTTP link that timed out: retried elsewhere before any byte went out,
// else its stream ends with an error event.
//
// Threads: start() and cancel() run on the upstream I/O thread; gRPC's callbacks run on its own
// threads and write to the responder in order; `done` is posted to the upstream I/O thread. Every
// call is tracked (grpc_link.h) until its last post, so shutdown can end it first.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "gateway/config/gateway_config.h"
#include "http/http_message.h"
#include "http/responder.h"

namespace tandem::gateway {

struct GrpcOutcome {
  enum class Kind {
    kAnswered,           // the client got a whole response or stream (status says which)
    kFailedBeforeBytes,  // nothing went to the client: the exchange may retry on another link
    kFailedAfterBytes,   // a stream was cut; it ended with an error event
    kCancelled,          // the client left
  };
  Kind kind = Kind::kAnswered;
  int status = 200;
  std::string why;                // for the failures
  bool connection_error = false;  // the link could not be reached
};

struct GrpcTimeouts {
  std::chrono::milliseconds idle{600'000};  // timeouts.upstream_seconds
  std::chrono::milliseconds total{0};       // timeouts.upstream_total_seconds; 0 = no cap
};

class GrpcCall {
 public:
  virtual ~GrpcCall() = default;
  virtual void cancel() = 0;
};

// `may_retry`: another link could take the request, so a backend's UNAVAILABLE (loading,
// shutting down) is a failure before bytes rather than a 503 for the client.
std::shared_ptr<GrpcCall> forward_grpc(boost::asio::io_context& ioc, const LinkConfig& link,
                                       const http::HttpRequest& request, std::shared_ptr<http::Responder> responder,
                                       GrpcTimeouts timeouts, bool may_retry,
                                       std::function<void(GrpcOutcome)> done);

}  // namespace tandem::gateway
