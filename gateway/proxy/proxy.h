#pragma once
// Forwarding one client request to a link (proxy_exchange.cpp) and the merged model list
// (models_merge.cpp).
//
// - The link is LinkSet::pick()'s (by the request's "model" too, when the links serve different
//   models); every proxied response carries "X-Tandem-Link: <name>".
// - Streams (text/event-stream) pass through chunk by chunk as the link sends them; other responses
//   are passed whole (the front door gzips them for clients that ask).
// - A link that fails before any byte went to the client (cannot connect, connection lost, or 503)
//   gets the request retried once on the next link, transparently. A connection error marks the
//   link down at once. A kept-alive connection the backend had closed is replaced first, without
//   blaming the link.
// - Once a stream's bytes went out, a failure ends it with `data: {"error": {...}}` and no [DONE].
// - A client that disconnects closes the upstream connection at once, so the backend cancels the
//   generation and frees its sequence.
// - Backpressure: while a streaming client has more than kClientPendingLimit bytes not yet written
//   to its socket, its stream stops reading the link (an HTTP link's socket, a gRPC link's next
//   message) and goes on once they fall to half of it; so a slow reader costs the gateway a bounded
//   buffer (tandem_gateway_stream_buffered_bytes) and the backend's own send path feels it.
// - Timeouts, the same for both kinds of link: upstream_timeout bounds each wait on the link (the
//   first byte, then every next one), upstream_total_timeout the whole response; either one cut
//   short fails the link like a lost connection, but without marking it down.
//
// Threads: the request is handed to the upstream I/O thread, where all of its work runs.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gateway/links/link_set.h"
#include "gateway/links/upstream_pool.h"
#include "http/http_message.h"
#include "http/responder.h"

namespace tandem::gateway {

// Bytes a stream may hold for its client before it stops reading the link (see Backpressure).
inline constexpr size_t kClientPendingLimit = 64 * 1024;

struct ProxyContext {
  boost::asio::io_context& ioc;  // the upstream I/O thread's
  LinkSet& links;
  std::vector<std::unique_ptr<UpstreamPool>>& pools;
  std::chrono::milliseconds upstream_timeout{600'000};  // for each wait on the link
  std::chrono::milliseconds upstream_total_timeout{0};  // for a whole response from one link; 0 = none
  std::chrono::milliseconds models_timeout{5'000};
  // Called once per proxied request with the time the gateway itself added, in seconds.
  std::function<void(double)> on_added_latency;
};

void proxy_request(ProxyContext& context, const http::HttpRequest& request, std::shared_ptr<http::Responder> responder);

// GET /v1/models: every live link's list, merged by id in link order.
void merged_models(ProxyContext& context, const http::HttpRequest& request, std::shared_ptr<http::Responder> responder);

}  // namespace tandem::gateway
