// One proxied request: pick a link, forward, pass the response back, retry or end cleanly on
// failure (the rules are in proxy.h).

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "gateway/proxy/grpc_forward.h"
#include "gateway/proxy/proxy.h"
#include "http/api_error.h"
#include "log/log.h"

namespace tandem::gateway {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using http::HttpResponse;
using http::Responder;

// Headers that describe one hop, or that the gateway sets itself, in either direction.
bool not_forwarded(std::string_view lower) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
      "proxy-authorization", "proxy-authenticate", "host", "content-length", "authorization", "accept-encoding",
      "content-encoding", "expect", "x-request-id", "x-forwarded-for"};
  for (auto n : kNames) {
    if (n == lower) return true;
  }
  return false;
}

// Headers only a browser sends, about the browser's page and its cookies. The gateway is the page's
// origin (it serves the web UI), so they mean nothing to a link, and a link that screens Origin
// (cors.allowed_origins, issue 10) would refuse the UI's every POST. The gateway's front door screens
// Origin itself first (app/ui_routes.h: its own page, or cors.allowed_origins).
bool browser_only(std::string_view lower) {
  return lower == "origin" || lower == "cookie" || lower == "referer" || lower.starts_with("sec-fetch-") ||
         lower.starts_with("sec-ch-") || lower.starts_with("access-control-request-");
}

// Response headers the front door sets itself.
bool not_returned(std::string_view lower) {
  return not_forwarded(lower) || lower == "content-type" || lower == "server" || lower == "date" || lower == "vary" ||
         lower == "cache-control" || lower == "x-accel-buffering" || lower.starts_with("access-control-");
}

bool is_connection_error(const beast::error_code& ec) {
  return ec == net::error::connection_refused || ec == net::error::connection_reset ||
         ec == net::error::connection_aborted || ec == net::error::broken_pipe || ec == net::error::eof ||
         ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
         ec == net::error::host_unreachable || ec == net::error::network_unreachable;
}

std::string client_address(const std::string& client) {
  const size_t colon = client.rfind(':');
  return colon == std::string::npos ? client : client.substr(0, colon);
}

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(ProxyContext& context, const http::HttpRequest& request, std::shared_ptr<Responder> responder)
      : ctx_(context), request_(request), responder_(std::move(responder)), received_(Clock::now()) {}

  void start() {
    std::weak_ptr<Exchange> weak = weak_from_this();
    responder_->on_disconnect([weak, &ioc = ctx_.ioc] {
      net::post(ioc, [weak] {
        if (auto self = weak.lock()) self->cancel();
      });
    });
    net::post(ctx_.ioc, [self = shared_from_this()] { self->attempt(); });
  }

 private:
  // ---- one try on one link ----

  void attempt() {
    if (done_) return;
    if (!model_read_) {
      model_read_ = true;
      model_ = requested_model();
    }
    link_ = ctx_.links.pick(excluded_, model_);
    if (link_ < 0) return give_up();
    const LinkConfig& link = ctx_.links.config(static_cast<size_t>(link_));
    ctx_.links.begin_request(static_cast<size_t>(link_));
    counted_ = true;
    fresh_retry_ = false;
    got_header_ = false;
    body_.clear();
    headers_.clear();
    attempt_started_ = Clock::now();
    if (link.protocol == "grpc") return attempt_grpc(link);
    build_request(link);
    connection_ = pool().take();
    if (connection_) return send();
    open();
  }

  // The "model" a JSON request names, read only when the links serve different models.
  std::string requested_model() const {
    if (request_.method != "POST" || !ctx_.links.routes_by_model()) return "";
    const nlohmann::json body = nlohmann::json::parse(request_.body, nullptr, false);
    if (!body.is_object()) return "";
    const auto it = body.find("model");
    return it != body.end() && it->is_string() ? it->get<std::string>() : "";
  }

  // The end of the next wait on the link: upstream_timeout from now, or the attempt's cap if sooner.
  Clock::time_point wait_deadline() const {
    const Clock::time_point idle = Clock::now() + ctx_.upstream_timeout;
    if (ctx_.upstream_total_timeout.count() <= 0) return idle;
    return std::min(idle, attempt_started_ + ctx_.upstream_total_timeout);
  }

  bool past_total() const {
    return ctx_.upstream_total_timeout.count() > 0 && Clock::now() >= attempt_started_ + ctx_.upstream_total_timeout;
  }

  UpstreamPool& pool() { return *ctx_.pools[static_cast<size_t>(link_)]; }
  const std::string& link_name() const { return ctx_.links.config(static_cast<size_t>(link_)).name; }

  void build_request(const LinkConfig& link) {
    upstream_ = {};
    const bhttp::verb verb = bhttp::string_to_verb(request_.method);
    if (verb == bhttp::verb::unknown) {
      upstream_.method_string(request_.method);
    } else {
      upstream_.method(verb);
    }
    upstream_.target(link.base_path + request_.target);
    upstream_.version(11);
    for (const auto& [name, value] : request_.headers) {
      if (!not_forwarded(name) && !browser_only(name)) upstream_.insert(name, value);
    }
    upstream_.set(bhttp::field::host, pool().host_header());
    if (!link.api_key.empty()) upstream_.set(bhttp::field::authorization, "Bearer " + link.api_key);
    upstream_.set("X-Request-Id", request_.request_id);
    upstream_.set("X-Forwarded-For", client_address(request_.client));
    upstream_.body() = request_.body;
    upstream_.keep_alive(true);
    upstream_.prepare_payload();
  }

  void open() {
    pool().connect([self = shared_from_this()](beast::error_code ec, std::unique_ptr<UpstreamConnection> c) {
      if (self->done_) return;
      if (self->cancelled_) return self->end_cancelled();
      if (ec) return self->failed(ec);
      self->connection_ = std::move(c);
      self->send();
    });
  }

  void send() {
    connection_->stream.expires_at(wait_deadline());
    bhttp::async_write(connection_->stream, upstream_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->failed(ec);
      if (!self->latency_recorded_ && self->ctx_.on_added_latency) {
        self->latency_recorded_ = true;
        self->ctx_.on_added_latency(std::chrono::duration<double>(Clock::now() - self->received_).count());
      }
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    // Unlimited: the backend's responses are trusted. (Boost 1.74 compares a length with an empty
    // optional as "over the limit", so the largest number stands for no limit.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    connection_->stream.expires_at(wait_deadline());
    bhttp::async_read_header(connection_->stream, connection_->buffer, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) return self->failed(ec);
                               self->on_header();
                             });
  }

  void on_header() {
    got_header_ = true;
    const auto& res = parser_->get();
    status_ = res.result_int();
    const uint64_t others = excluded_ | uint64_t{1} << static_cast<unsigned>(link_);
    if (status_ == 503 && !retried_ && ctx_.links.pick(others, model_) >= 0) {
      // Shutting down or loading: nothing has gone out, so the next link may take it.
      last_error_ = link_name() + " answered 503";
      last_link_ = link_name();
      close_connection();
      ctx_.links.end_request(static_cast<size_t>(link_), 503, true);
      counted_ = false;
      return retry();
    }
    content_type_ = std::string(res[bhttp::field::content_type]);
    streaming_ = content_type_.starts_with("text/event-stream");
    for (const auto& field : res) {
      std::string name = http::to_lower(field.name_string());
      if (!not_returned(name)) headers_.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    headers_.emplace_back("X-Tandem-Link", link_name());
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return finish();
    parser_->get().body().data = chunk_.data();
    parser_->get().body().size = chunk_.size();
    connection_->stream.expires_at(wait_deadline());
    bhttp::async_read_some(connection_->stream, connection_->buffer, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::need_buffer) ec = {};
    // A body that ends with the connection (no length, not chunked) is complete at end of stream.
    if (ec && parser_->is_done()) ec = {};
    const size_t got = chunk_.size() - parser_->get().body().size;
    if (got > 0 && !cancelled_) deliver(std::string(chunk_.data(), got));
    if (ec) return failed(ec);
    read_when_client_keeps_up();
  }

  // Backpressure (proxy.h): the link is read again once the client has taken most of what it was
  // sent. The waiter holds the exchange; it runs once the client's writes drain or it disconnects
  // (then the read fails on the socket cancel() shut, and the exchange ends as cancelled).
  void read_when_client_keeps_up() {
    if (!started_ || responder_->pending_bytes() <= kClientPendingLimit) return read_body();
    responder_->when_drained(kClientPendingLimit / 2, [self = shared_from_this()] {
      net::post(self->ctx_.ioc, [self] {
        if (!self->done_ && self->connection_) self->read_body();
      });
    });
  }

  void deliver(std::string data) {
    if (!streaming_) {
      body_ += data;
      return;
    }
    if (!started_) {
      started_ = true;
      responder_->start_stream(status_, content_type_, headers_);
    }
    responder_->send_chunk(std::move(data));
  }

  void finish() {
    done_ = true;
    connection_->stream.expires_never();
    if (parser_->keep_alive() && !cancelled_) pool().give_back(std::move(connection_));
    connection_.reset();
    if (streaming_) {
      if (!started_) responder_->start_stream(status_, content_type_, headers_);
      responder_->end_stream();
    } else {
      responder_->send(HttpResponse{status_, content_type_, std::move(body_), std::move(headers_)});
    }
    end_counted(status_, status_ >= 500);
  }

  // ---- a gRPC link (grpc_forward.h translates; the retry rules stay here) ----

  void attempt_grpc(const LinkConfig& link) {
    const uint64_t others = excluded_ | uint64_t{1} << static_cast<unsigned>(link_);
    const bool may_retry = !retried_ && ctx_.links.pick(others, model_) >= 0;
    if (!latency_recorded_ && ctx_.on_added_latency) {
      latency_recorded_ = true;
      ctx_.on_added_latency(std::chrono::duration<double>(Clock::now() - received_).count());
    }
    grpc_call_ = forward_grpc(ctx_.ioc, link, request_, responder_,
                              GrpcTimeouts{ctx_.upstream_timeout, ctx_.upstream_total_timeout}, may_retry,
                              [self = shared_from_this()](GrpcOutcome o) { self->grpc_finished(std::move(o)); });
  }

  void grpc_finished(GrpcOutcome o) {
    grpc_call_.reset();
    if (done_) return;
    using Kind = GrpcOutcome::Kind;
    if (o.kind == Kind::kCancelled) return end_cancelled();
    if (o.kind == Kind::kAnswered) {
      done_ = true;
      return end_counted(o.status, o.status >= 500);
    }
    last_error_ = link_name() + (o.status == 503 ? " " : " failed: ") + o.why;
    last_link_ = link_name();
    log::warn("link " + link_name() + " failed a request: " + o.why +
                  (o.kind == Kind::kFailedAfterBytes ? " (stream cut)" : ""),
              request_.request_id);
    if (o.kind == Kind::kFailedAfterBytes) {
      done_ = true;
      return end_counted(o.status, true);
    }
    if (o.connection_error) ctx_.links.record_connection_error(static_cast<size_t>(link_), o.why);
    end_counted(o.status, true);
    if (!retried_) return retry();
    give_up();
  }

  // ---- failures ----

  void failed(beast::error_code ec) {
    if (done_) return;
    const bool stale = connection_ && connection_->reused && !got_header_ && !fresh_retry_ &&
                       ec != beast::error::timeout && !cancelled_;
    close_connection();
    if (cancelled_) return end_cancelled();
    if (stale) {
      // A kept-alive connection that the backend had closed: a new one, same link, no blame.
      fresh_retry_ = true;
      return open();
    }
    std::string why = ec.message();
    if (ec == beast::error::timeout) {
      why = past_total() ? "the response took longer than " + std::to_string(ctx_.upstream_total_timeout.count() / 1000) +
                               " s (timeouts.upstream_total_seconds)"
                         : "no answer within " + std::to_string(ctx_.upstream_timeout.count() / 1000) +
                               " s (timeouts.upstream_seconds)";
    }
    if (is_connection_error(ec)) {
      ctx_.links.record_connection_error(static_cast<size_t>(link_), why);
      pool().clear();
    }
    last_error_ = link_name() + " failed: " + why;
    last_link_ = link_name();
    log::warn("link " + link_name() + " failed a request: " + why + (started_ ? " (stream cut)" : ""),
              request_.request_id);
    if (started_) {
      // Bytes have gone out: the stream ends with an error event (and no [DONE]).
      done_ = true;
      HttpResponse error = http::error_response(
          http::ApiError{502, "the link " + link_name() + " failed during the response: " + why +
                                  "; the text so far is incomplete",
                         "server_error", "", "upstream_failed"});
      responder_->end_stream("data: " + error.body + "\n\n");
      end_counted(status_, true);
      return;
    }
    end_counted(0, true);
    if (!retried_) return retry();
    give_up();
  }

  void retry() {
    retried_ = true;
    excluded_ |= uint64_t{1} << static_cast<unsigned>(link_);
    attempt();
  }

  // No link took the request: 503 when none can serve now, else 502 with the last failure.
  void give_up() {
    done_ = true;
    if (!ctx_.links.can_serve() || last_error_.empty()) {
      responder_->send(http::error_response(
          http::unavailable("no link can serve this request: " + ctx_.links.failure_summary(), "no_link_available", 1)));
      return;
    }
    HttpResponse r = http::error_response(
        http::ApiError{502, last_error_ + "; the request was tried on another link too", "server_error", "",
                       "upstream_failed"});
    r.headers.emplace_back("X-Tandem-Link", last_link_);
    responder_->send(std::move(r));
  }

  void cancel() {
    cancelled_ = true;
    if (done_) return;
    if (grpc_call_) grpc_call_->cancel();
    // Closing the connection is what tells the backend to stop generating.
    if (connection_) {
      beast::error_code ignored;
      connection_->stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
      connection_->stream.close();
    }
  }

  void end_cancelled() {
    done_ = true;
    end_counted(499, false);
  }

  void end_counted(int status, bool failed) {
    if (!counted_) return;
    counted_ = false;
    ctx_.links.end_request(static_cast<size_t>(link_), status, failed);
  }

  void close_connection() {
    if (!connection_) return;
    beast::error_code ignored;
    connection_->stream.socket().close(ignored);
    connection_.reset();
  }

  ProxyContext& ctx_;
  http::HttpRequest request_;
  std::shared_ptr<Responder> responder_;
  Clock::time_point received_;
  Clock::time_point attempt_started_;  // when the current link got the request
  bhttp::request<bhttp::string_body> upstream_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  std::unique_ptr<UpstreamConnection> connection_;
  std::shared_ptr<GrpcCall> grpc_call_;  // while a gRPC link has the request
  std::array<char, 16384> chunk_{};
  std::string body_;
  std::string content_type_;
  http::Headers headers_;
  std::string last_error_;
  std::string last_link_;  // the link that failed last
  std::string model_;
  bool model_read_ = false;
  uint64_t excluded_ = 0;
  int link_ = -1;
  int status_ = 0;
  bool counted_ = false;
  bool got_header_ = false;
  bool fresh_retry_ = false;
  bool retried_ = false;
  bool streaming_ = false;
  bool started_ = false;
  bool cancelled_ = false;
  bool done_ = false;
  bool latency_recorded_ = false;
};

}  // namespace

void proxy_request(ProxyContext& context, const http::HttpRequest& request, std::shared_ptr<Responder> responder) {
  std::make_shared<Exchange>(context, request, std::move(responder))->start();
}

}  // namespace tandem::gateway
