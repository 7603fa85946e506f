#include "http/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/check.h"
#include "http/api_error.h"
#include "http/auth.h"
#include "http/cors.h"
#include "http/gzip.h"
#include "log/log.h"

namespace tandem::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr size_t kGzipMinBytes = 1024;  // smaller bodies gain nothing from gzip

bool compressible(std::string_view content_type) {
  return content_type.starts_with("application/json") || content_type.starts_with("text/");
}

// Keeps a client-supplied X-Request-Id only when it is short and plain, so it is safe in logs.
bool usable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string hex(size_t n) {
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%zx", n);
  return buf;
}

std::atomic<size_t> g_queued_stream_bytes{0};

// What the session and the handler's Responder share about one exchange.
struct ExchangeState {
  std::mutex mutex;
  bool disconnected = false;
  std::function<void()> on_disconnect;
  size_t pending = 0;                   // chunk bytes posted and not yet written (Responder::pending_bytes)
  size_t drained_limit = 0;             // when_drained's limit, while `on_drained` is set
  std::function<void()> on_drained;

  void add_pending(size_t n) {
    std::lock_guard lock(mutex);
    pending += n;
    g_queued_stream_bytes.fetch_add(n);
  }
  void release_pending(size_t n) {
    std::function<void()> callback;
    {
      std::lock_guard lock(mutex);
      pending -= n;
      g_queued_stream_bytes.fetch_sub(n);
      if (!on_drained || pending > drained_limit) return;
      callback = std::move(on_drained);
      on_drained = nullptr;
    }
    callback();
  }
};

// One posted chunk's share of its exchange's pending bytes, given back when the chunk is written,
// dropped unsent, or never queued (whichever way its holder is destroyed).
class PendingChunk {
 public:
  PendingChunk(std::shared_ptr<ExchangeState> state, size_t n) : state_(std::move(state)), n_(n) {
    if (state_) state_->add_pending(n_);
  }
  ~PendingChunk() {
    if (state_) state_->release_pending(n_);
  }
  PendingChunk(const PendingChunk&) = delete;
  PendingChunk& operator=(const PendingChunk&) = delete;

 private:
  std::shared_ptr<ExchangeState> state_;
  size_t n_;
};

class Session;

}  // namespace

struct detail::ServerCore : std::enable_shared_from_this<detail::ServerCore> {
  HttpServerOptions options;
  Router router;
  CorsPolicy cors;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  // The listener's own strand: with several I/O threads, an accept completing on one must not
  // re-arm the acceptor while another closes it (stop_accepting), nor race the back-off timer.
  net::strand<net::io_context::executor_type> listener{net::make_strand(ioc)};
  tcp::acceptor acceptor{listener};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> exchanges{0};
  std::atomic<uint64_t> next_id{1};
  uint16_t bound_port = 0;
  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<Session>> sessions;
  // Open connections, in all and per client address; guarded by slots_mutex.
  std::mutex slots_mutex;
  size_t open_connections = 0;
  std::unordered_map<std::string, size_t> open_per_address;
  // Out of file descriptors, accept() fails at once every time it is tried: wait instead of
  // spinning, doubling the wait up to a second; one log line per episode.
  net::steady_timer accept_retry{listener};
  std::chrono::milliseconds accept_backoff{0};

  ServerCore(HttpServerOptions o, Router r) : options(std::move(o)), router(std::move(r)), cors(options.cors_origins) {}

  void accept();
  void on_accept_error(const beast::error_code& ec);
  // Takes a connection slot for `address`, or says which limit is reached.
  std::optional<std::string> take_slot(const std::string& address);
  void release_slot(const std::string& address);
  void add_session(const std::shared_ptr<Session>& s);
  template <typename F>
  void for_each_session(F f);
  bool is_public(std::string_view path) const {
    for (const auto& p : options.public_paths) {
      if (p == path) return true;
    }
    return false;
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<detail::ServerCore> server, std::string address)
      : stream_(std::move(socket)),
        server_(std::move(server)),
        address_(std::move(address)),
        read_timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) client_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Session() { server_->release_slot(address_); }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  // From the server on stop: a connection between requests closes now; one in an exchange closes
  // after its response (keep-alive is turned off when the server is stopping).
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->in_exchange_) self->close();
    });
  }
  void close_now() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->mark_disconnected();
      self->close();
    });
  }

  // The Responder's calls, posted onto this connection's strand; stale exchanges are ignored.
  void post_send(uint64_t exchange, HttpResponse response) {
    net::post(stream_.get_executor(), [self = shared_from_this(), exchange, r = std::move(response)]() mutable {
      self->do_send(exchange, std::move(r));
    });
  }
  void post_start_stream(uint64_t exchange, int status, std::string content_type, Headers headers) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), exchange, status, ct = std::move(content_type), h = std::move(headers)]() mutable {
                self->do_start_stream(exchange, status, std::move(ct), std::move(h));
              });
  }
  void post_chunk(uint64_t exchange, std::string data, std::shared_ptr<ExchangeState> state) {
    auto pending = std::make_shared<PendingChunk>(std::move(state), data.size());
    net::post(stream_.get_executor(), [self = shared_from_this(), exchange, d = std::move(data),
                                       p = std::move(pending)]() mutable {
      self->do_chunk(exchange, std::move(d), std::move(p));
    });
  }
  void post_end_stream(uint64_t exchange, std::string last) {
    net::post(stream_.get_executor(), [self = shared_from_this(), exchange, l = std::move(last)]() mutable {
      self->do_end_stream(exchange, std::move(l));
    });
  }

 private:
  enum class OutKind { kFull, kHeader, kChunk, kLast };
  struct Outgoing {
    OutKind kind = OutKind::kFull;
    std::shared_ptr<bhttp::response<bhttp::string_body>> full;
    std::shared_ptr<bhttp::response<bhttp::empty_body>> header;
    std::shared_ptr<bhttp::response_serializer<bhttp::empty_body>> serializer;
    std::string data;
    std::shared_ptr<PendingChunk> pending;  // a chunk's: counted until the entry goes
  };

  // ---- reading ----

  // Between keep-alive requests the idle timeout applies, but only until the next request's first
  // byte: from then on the client has the read timeout to send all of it.
  void read_header() {
    if (n_requests_ == 0 || buffer_.size() > 0) return read_request();
    stream_.expires_never();
    arm_read_timer(server_->options.idle_timeout);
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      const bool timed_out = self->read_timer_fired();
      if (ec || timed_out || self->closed_) return self->close();
      self->read_request();
    });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_->options.max_body_bytes);
    stream_.expires_never();  // the read timer below rules reads; the stream's own would close at once
    arm_read_timer(server_->options.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // The read deadline is a timer of its own rather than the stream's: the stream closes the socket
  // when its deadline passes, and a client that is mid-request is owed a 408 first.
  void arm_read_timer(std::chrono::milliseconds timeout) {
    read_timed_out_ = false;
    read_timer_.expires_after(timeout);
    // A timer that expired just as it was cancelled still runs its handler: the generation tells
    // that stale handler from the current one.
    read_timer_.async_wait([self = shared_from_this(), generation = ++read_timer_generation_](beast::error_code ec) {
      if (ec || self->closed_ || generation != self->read_timer_generation_) return;
      self->read_timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }
  // Stops the read timer; true when it had fired (the read was cut short by it).
  bool read_timer_fired() {
    read_timer_.cancel();
    ++read_timer_generation_;
    return read_timed_out_;
  }

  void request_timeout() {
    fail_request(ApiError{408, "the request was not received in time (timeouts.read_seconds)",
                          "invalid_request_error", "", "timeout"});
  }

  void on_header(beast::error_code ec) {
    if (read_timer_fired()) {
      // Say so to a client that had started a request; one that sent nothing is just closed.
      if (buffer_.size() > 0 || parser_->got_some()) return request_timeout();
      return close();
    }
    if (ec) {
      if (ec == bhttp::error::body_limit) {
        // The parser compares Content-Length with the limit while reading the header.
        fail_request(payload_too_large("the request body is larger than the " +
                                       std::to_string(server_->options.max_body_bytes) +
                                       " bytes this server accepts (limits.max_body_bytes)"));
      } else if (ec == bhttp::error::header_limit) {
        fail_request(ApiError{431, "request headers exceed " + std::to_string(kHeaderLimit) + " bytes",
                              "invalid_request_error", "", "headers_too_large"});
      } else if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
                 ec == net::error::operation_aborted || ec == net::error::connection_reset) {
        close();
      } else {
        fail_request(invalid_request("malformed HTTP request: " + ec.message()));
      }
      return;
    }
    auto& msg = parser_->get();
    if (auto refused = check_framing(msg)) return fail_request(invalid_request(*refused));
    if (auto length = parser_->content_length(); length && *length > server_->options.max_body_bytes) {
      fail_request(payload_too_large("the request body has " + std::to_string(*length) + " bytes, more than the " +
                                     std::to_string(server_->options.max_body_bytes) +
                                     " this server accepts (limits.max_body_bytes)"));
      return;
    }
    // The body shares the request's read deadline, armed when its header began.
    arm_read_timer(remaining_read_time());
    if (beast::iequals(msg[bhttp::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code wec, size_t) {
        if (wec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  // RFC 9112 section 6: a request body is framed by Content-Length or by a final "chunked"
  // coding, never both; anything else cannot be delimited, and reading on would take the body's
  // bytes for the next request (request smuggling). Such a request is refused and the connection
  // closed.
  std::optional<std::string> check_framing(const bhttp::request_parser<bhttp::string_body>::value_type& msg) const {
    if (msg.find(bhttp::field::transfer_encoding) == msg.end()) return std::nullopt;
    std::string coding = to_lower(msg[bhttp::field::transfer_encoding]);
    std::erase_if(coding, [](char c) { return c == ' ' || c == '\t'; });
    if (coding != "chunked") {
      return "Transfer-Encoding \"" + std::string(msg[bhttp::field::transfer_encoding]) +
             "\" is not supported; send the body with Content-Length or Transfer-Encoding: chunked";
    }
    if (msg.find(bhttp::field::content_length) != msg.end()) {
      return "the request has both Content-Length and Transfer-Encoding; send only one";
    }
    return std::nullopt;
  }

  std::chrono::milliseconds remaining_read_time() const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(read_timer_.expiry() - Clock::now());
    return std::max(left, std::chrono::milliseconds(1));
  }

  void on_body(beast::error_code ec) {
    if (read_timer_fired()) return request_timeout();
    if (ec == bhttp::error::body_limit) {
      fail_request(payload_too_large("the request body is larger than the " +
                                     std::to_string(server_->options.max_body_bytes) +
                                     " bytes this server accepts (limits.max_body_bytes)"));
      return;
    }
    if (ec) {
      if (ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
                 ec == net::error::connection_reset) {
        close();
      } else {
        fail_request(invalid_request("malformed HTTP request: " + ec.message()));
      }
      return;
    }
    ++n_requests_;
    auto msg = parser_->release();
    HttpRequest request;
    request.method = std::string(msg.method_string());
    request.target = std::string(msg.target());
    request.path = request.target.substr(0, request.target.find('?'));
    for (const auto& field : msg) {
      request.headers.emplace_back(to_lower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(msg.body());
    request.client = client_;
    const std::string_view sent_id = request.header("x-request-id");
    request.request_id = usable_request_id(sent_id)
                             ? std::string(sent_id)
                             : "req-" + std::to_string(server_->next_id.fetch_add(1, std::memory_order_relaxed));
    keep_alive_ = msg.keep_alive();
    http10_ = msg.version() < 11;
    begin_exchange(request);
    route(request);
  }

  // ---- the exchange ----

  void begin_exchange(const HttpRequest& request) {
    ++exchange_id_;
    in_exchange_ = true;
    exchange_done_ = false;
    state_ = std::make_shared<ExchangeState>();
    request_id_ = request.request_id;
    method_ = request.method;
    path_ = request.path;
    route_.clear();
    accept_gzip_ = accepts_gzip(request.header("accept-encoding"));
    origin_ = std::string(request.header("origin"));
    started_ = Clock::now();
    server_->exchanges.fetch_add(1);
    watch_disconnect(exchange_id_);
  }

  // An error found before a request could be built: answer it and close the connection.
  void fail_request(const ApiError& error) {
    keep_alive_ = false;
    HttpRequest request;
    request.request_id = "req-" + std::to_string(server_->next_id.fetch_add(1, std::memory_order_relaxed));
    begin_exchange(request);
    do_send(exchange_id_, error_response(error));
  }

  void route(HttpRequest& request);

  // Notices a client that hangs up while its request is being worked on, so that the work can be
  // cancelled. Readiness alone proves nothing (epoll may report it for bytes that an earlier read
  // already took), so a non-blocking MSG_PEEK decides: 0 bytes is end of stream, EAGAIN is a false
  // alarm (watch again), bytes waiting are a pipelined request (its turn comes after this response,
  // so the watch ends), and an error such as ECONNRESET is a hang-up.
  void watch_disconnect(uint64_t exchange) {
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), exchange](beast::error_code ec) {
      // Once the whole response is queued, a hang-up no longer cancels anything.
      if (exchange != self->exchange_id_ || !self->in_exchange_ || self->exchange_done_ || self->closed_) return;
      if (!ec) {
        char byte;
        const ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) return;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
          return self->watch_disconnect(exchange);
        }
      }
      self->mark_disconnected();
      self->close();
    });
  }

  void mark_disconnected() {
    if (!state_) return;
    std::function<void()> callback, drained;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->disconnected) return;
      state_->disconnected = true;
      callback = std::move(state_->on_disconnect);
      drained = std::move(state_->on_drained);  // a producer waiting for the client goes on, to see it gone
      state_->on_drained = nullptr;
    }
    if (callback) callback();
    if (drained) drained();
  }

  bool gone() const {
    if (!state_) return true;
    std::lock_guard lock(state_->mutex);
    return state_->disconnected;
  }

  void apply_common_headers(bhttp::fields& fields, const Headers& extra) {
    fields.set(bhttp::field::server, "tandem");
    fields.set("X-Request-Id", request_id_);
    for (const auto& [k, v] : server_->cors.response_headers(origin_)) fields.insert(k, v);
    for (const auto& [k, v] : extra) fields.insert(k, v);
  }

  bool keep_alive_now() const { return keep_alive_ && !server_->stopping.load(); }

  void do_send(uint64_t exchange, HttpResponse response) {
    if (exchange != exchange_id_ || exchange_done_ || streaming_) return;
    status_ = response.status;
    if (gone()) return end_exchange_after_disconnect();
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(response.status), 11);
    apply_common_headers(*res, response.headers);
    if (!response.content_type.empty()) res->set(bhttp::field::content_type, response.content_type);
    if (accept_gzip_ && response.body.size() >= kGzipMinBytes && compressible(response.content_type)) {
      response.body = gzip_compress(response.body);
      res->set(bhttp::field::content_encoding, "gzip");
      res->insert(bhttp::field::vary, "Accept-Encoding");
    }
    res->keep_alive(keep_alive_now());
    if (response.status == 204 || response.status == 304) {
      res->content_length(boost::none);  // these carry no body and no length (RFC 9110)
    } else {
      res->body() = std::move(response.body);
      res->prepare_payload();
    }
    exchange_done_ = true;
    queue_.push_back(Outgoing{OutKind::kFull, std::move(res), nullptr, nullptr, {}});
    write_next();
  }

  void do_start_stream(uint64_t exchange, int status, std::string content_type, Headers headers) {
    if (exchange != exchange_id_ || exchange_done_ || streaming_) return;
    streaming_ = true;
    status_ = status;
    if (gone()) return;
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(status), 11);
    apply_common_headers(*res, headers);
    res->set(bhttp::field::content_type, content_type);
    res->set(bhttp::field::cache_control, "no-cache");
    res->set("X-Accel-Buffering", "no");  // tells nginx-style proxies not to hold events back
    if (http10_) {
      // HTTP/1.0 has no chunked coding: the body is the raw events, and closing ends it.
      keep_alive_ = false;
      res->keep_alive(false);
    } else {
      res->keep_alive(keep_alive_now());
      res->chunked(true);
    }
    auto serializer = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
    queue_.push_back(Outgoing{OutKind::kHeader, nullptr, std::move(res), std::move(serializer), {}});
    write_next();
  }

  void do_chunk(uint64_t exchange, std::string data, std::shared_ptr<PendingChunk> pending) {
    if (exchange != exchange_id_ || exchange_done_ || !streaming_ || data.empty() || gone()) return;
    queue_.push_back(
        Outgoing{OutKind::kChunk, nullptr, nullptr, nullptr, frame_chunk(std::move(data)), std::move(pending)});
    write_next();
  }

  void do_end_stream(uint64_t exchange, std::string last) {
    if (exchange != exchange_id_ || exchange_done_ || !streaming_) return;
    exchange_done_ = true;
    if (gone()) return end_exchange_after_disconnect();
    std::string framed = last.empty() ? std::string() : frame_chunk(std::move(last));
    if (!http10_) framed += "0\r\n\r\n";
    queue_.push_back(Outgoing{OutKind::kLast, nullptr, nullptr, nullptr, std::move(framed)});
    write_next();
  }

  std::string frame_chunk(std::string data) const {
    if (http10_) return data;
    std::string framed = hex(data.size()) + "\r\n";
    framed += data;
    framed += "\r\n";
    return framed;
  }

  void write_next() {
    if (writing_ || queue_.empty()) return;
    writing_ = true;
    Outgoing& out = queue_.front();
    stream_.expires_after(server_->options.write_timeout);
    auto done = [self = shared_from_this()](beast::error_code ec, size_t) { self->on_written(ec); };
    switch (out.kind) {
      case OutKind::kFull: bhttp::async_write(stream_, *out.full, std::move(done)); break;
      case OutKind::kHeader: bhttp::async_write_header(stream_, *out.serializer, std::move(done)); break;
      case OutKind::kChunk:
      case OutKind::kLast: net::async_write(stream_, net::buffer(out.data), std::move(done)); break;
    }
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    TANDEM_CHECK(!queue_.empty());  // the write that just ended is still at the front
    const OutKind kind = queue_.front().kind;
    queue_.pop_front();
    if (ec) {
      drop_unsent();
      mark_disconnected();
      close();
      if (exchange_done_) end_exchange_after_disconnect();
      return;
    }
    if (kind == OutKind::kFull || kind == OutKind::kLast) {
      finish_exchange(status_);
      if (keep_alive_now() && !closed_) {
        read_header();
      } else {
        lingering_close();
      }
      return;
    }
    write_next();
  }

  // The handler has finished but the client left: count it as 499 (client closed request).
  void end_exchange_after_disconnect() {
    drop_unsent();
    finish_exchange(499);
    close();
  }

  // Drops what is queued but not yet handed to a write. The front entry stays while a write of it
  // is in flight: that write still reads its buffers, and its completion pops it.
  void drop_unsent() {
    queue_.erase(writing_ && !queue_.empty() ? std::next(queue_.begin()) : queue_.begin(), queue_.end());
  }

  void finish_exchange(int status) {
    if (!in_exchange_) return;
    in_exchange_ = false;
    streaming_ = false;
    server_->exchanges.fetch_sub(1);
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    if (server_->options.on_response) server_->options.on_response(route_, status, seconds);
    if (log::enabled(log::Level::kDebug)) {
      log::debug(method_ + " " + path_ + " " + std::to_string(status) + " " + std::to_string(seconds * 1000) + " ms " +
                     client_,
                 request_id_);
    }
  }

  // Closing a socket with unread request bytes makes the kernel send RST, which can destroy the
  // response before the client reads it (a 413 for a body never read, say). So: stop sending,
  // read and discard until the client closes too, for at most a second, then close.
  void lingering_close() {
    if (closed_) return;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(1));
    drain();
  }
  void drain() {
    if (closed_) return;
    auto scratch = std::make_shared<std::array<char, 16384>>();
    stream_.async_read_some(net::buffer(*scratch), [self = shared_from_this(), scratch](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->drain();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    read_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  friend class SessionResponder;
  beast::tcp_stream stream_;
  std::shared_ptr<detail::ServerCore> server_;
  const std::string address_;  // the client's IP address: its connection slot
  net::steady_timer read_timer_;
  bool read_timed_out_ = false;
  uint64_t read_timer_generation_ = 0;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::deque<Outgoing> queue_;
  std::shared_ptr<ExchangeState> state_;
  std::string client_;
  std::string request_id_, method_, path_, route_, origin_;
  Clock::time_point started_;
  uint64_t exchange_id_ = 0;
  uint64_t n_requests_ = 0;
  int status_ = 0;
  bool keep_alive_ = false;
  bool http10_ = false;  // the request was HTTP/1.0: no chunked coding in the answer
  bool accept_gzip_ = false;
  bool in_exchange_ = false;
  bool exchange_done_ = false;  // the final send/end has been queued
  bool streaming_ = false;
  bool writing_ = false;
  bool closed_ = false;

 public:
  std::shared_ptr<ExchangeState> exchange_state() const { return state_; }
  uint64_t exchange_id() const { return exchange_id_; }
};

class SessionResponder : public Responder {
 public:
  SessionResponder(std::shared_ptr<Session> session, uint64_t exchange, std::shared_ptr<ExchangeState> state)
      : session_(std::move(session)), exchange_(exchange), state_(std::move(state)) {}

  void send(HttpResponse response) override { session_->post_send(exchange_, std::move(response)); }
  void start_stream(int status, std::string content_type, Headers headers) override {
    session_->post_start_stream(exchange_, status, std::move(content_type), std::move(headers));
  }
  void send_chunk(std::string data) override { session_->post_chunk(exchange_, std::move(data), state_); }
  void end_stream(std::string last) override { session_->post_end_stream(exchange_, std::move(last)); }

  void on_disconnect(std::function<void()> callback) override {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->disconnected) {
        state_->on_disconnect = std::move(callback);
        return;
      }
    }
    callback();
  }
  bool disconnected() const override {
    std::lock_guard lock(state_->mutex);
    return state_->disconnected;
  }
  size_t pending_bytes() const override {
    std::lock_guard lock(state_->mutex);
    return state_->pending;
  }
  void when_drained(size_t limit, std::function<void()> callback) override {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->disconnected && state_->pending > limit) {
        state_->drained_limit = limit;
        state_->on_drained = std::move(callback);
        return;
      }
    }
    callback();
  }

 private:
  std::shared_ptr<Session> session_;
  uint64_t exchange_;
  std::shared_ptr<ExchangeState> state_;
};

void Session::route(HttpRequest& request) {
  auto& server = *server_;
  if (server.options.screen) {
    if (auto refused = server.options.screen(request)) return do_send(exchange_id_, error_response(*refused));
  }
  // Content-Encoding first: the limit applies to the decoded body too.
  const std::string encoding = to_lower(request.header("content-encoding"));
  if (encoding == "gzip" || encoding == "x-gzip") {
    GunzipResult decoded = gzip_decompress(request.body, server.options.max_body_bytes);
    if (decoded.error == GunzipError::kTooLarge) {
      return do_send(exchange_id_, error_response(payload_too_large(
                                       "the gzip-decoded request body is larger than the " +
                                       std::to_string(server.options.max_body_bytes) +
                                       " bytes this server accepts (limits.max_body_bytes)")));
    }
    if (decoded.error == GunzipError::kCorrupt) {
      return do_send(exchange_id_, error_response(invalid_request(
                                       "the request body is not valid gzip (Content-Encoding: gzip)")));
    }
    request.body = std::move(decoded.data);
  } else if (!encoding.empty() && encoding != "identity") {
    return do_send(exchange_id_, error_response(unsupported_media_type(
                                     "Content-Encoding \"" + encoding + "\" is not supported; send gzip or identity")));
  }

  if (CorsPolicy::is_preflight(request)) return do_send(exchange_id_, server.cors.preflight_response(request));

  Router::Match match = server.router.find(request.method, request.path);
  route_ = match.route;
  if (!server.is_public(request.path) && !server.options.api_keys.empty()) {
    const std::string_view header = request.header("authorization");
    if (header.empty()) {
      return do_send(exchange_id_, error_response(unauthorized(
                                       "no API key given; send it as \"Authorization: Bearer YOUR_KEY\"")));
    }
    if (!authorized(header, server.options.api_keys)) {
      return do_send(exchange_id_, error_response(unauthorized("the API key given is not valid")));
    }
  }
  if (!match.handler) {
    if (match.allowed.empty()) {
      return do_send(exchange_id_, error_response(not_found("no route " + request.method + " " + request.path)));
    }
    std::string allow;
    for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse response = error_response(
        method_not_allowed(request.method + " is not allowed on " + request.path + "; use " + allow));
    response.headers.emplace_back("Allow", allow);
    return do_send(exchange_id_, std::move(response));
  }
  auto responder = std::make_shared<SessionResponder>(shared_from_this(), exchange_id_, state_);
  try {
    (*match.handler)(request, responder);
  } catch (const std::exception& e) {
    log::error(std::string("handler threw: ") + e.what(), request.request_id);
    do_send(exchange_id_, error_response(internal_error("internal error; see the server log")));
  } catch (...) {
    log::error("handler threw a non-exception", request.request_id);
    do_send(exchange_id_, error_response(internal_error("internal error; see the server log")));
  }
}

}  // namespace

namespace {

// Turns a connection away with a short 503 saying which limit it met. The socket is new, so its
// send buffer takes these few bytes at once; a failure to send is of no consequence.
void refuse_connection(tcp::socket& socket, const std::string& why) {
  const std::string body = "{\"error\":{\"message\":\"" + why +
                           "\",\"type\":\"server_error\",\"param\":null,\"code\":\"too_many_connections\"}}";
  const std::string response = "HTTP/1.1 503 Service Unavailable\r\nServer: tandem\r\nConnection: close\r\n"
                               "Retry-After: 1\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(response), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace

std::optional<std::string> detail::ServerCore::take_slot(const std::string& address) {
  std::lock_guard lock(slots_mutex);
  if (open_connections >= options.max_connections) {
    return "the server has " + std::to_string(open_connections) +
           " connections open, its limit (limits.max_connections); retry shortly";
  }
  size_t& mine = open_per_address[address];
  if (mine >= options.max_connections_per_address) {
    return "this address has " + std::to_string(mine) +
           " connections open, the limit per client address (limits.max_connections_per_address); "
           "reuse keep-alive connections or close idle ones";
  }
  ++mine;
  ++open_connections;
  return std::nullopt;
}

void detail::ServerCore::release_slot(const std::string& address) {
  std::lock_guard lock(slots_mutex);
  --open_connections;
  auto it = open_per_address.find(address);
  if (it != open_per_address.end() && --it->second == 0) open_per_address.erase(it);
}

void detail::ServerCore::accept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopping.load() || ec == net::error::operation_aborted) return;
    if (ec) return self->on_accept_error(ec);
    if (self->accept_backoff.count() > 0) {
      log::info("accepting connections again");
      self->accept_backoff = std::chrono::milliseconds(0);
    }
    beast::error_code ep_ec;
    const auto endpoint = socket.remote_endpoint(ep_ec);
    if (!ep_ec) {
      const std::string address = endpoint.address().to_string();
      // Streams are many small writes that each must leave at once: no Nagle delay.
      socket.set_option(tcp::no_delay(true), ep_ec);
      if (auto refused = self->take_slot(address)) {
        refuse_connection(socket, *refused);
      } else {
        auto session = std::make_shared<Session>(std::move(socket), self, address);
        self->add_session(session);
        session->start();
      }
    }
    self->accept();
  });
}

void detail::ServerCore::on_accept_error(const beast::error_code& ec) {
  const int code = ec.value();
  const bool out_of_resources = ec.category() == boost::system::system_category() &&
                                (code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM);
  if (!out_of_resources) {
    // ECONNABORTED and the like: one connection failed before it was accepted; go on.
    log::debug("accept failed: " + ec.message());
    return accept();
  }
  if (accept_backoff.count() == 0) {
    log::warn("cannot accept connections: " + ec.message() +
              " (out of file descriptors or memory); retrying with back-off. Raise the limit (ulimit -n, "
              "LimitNOFILE=) or lower limits.max_connections");
    accept_backoff = std::chrono::milliseconds(50);
  } else {
    accept_backoff = std::min(accept_backoff * 2, std::chrono::milliseconds(1000));
  }
  accept_retry.expires_after(accept_backoff);
  accept_retry.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
    if (wait_ec || self->stopping.load()) return;
    self->accept();
  });
}

void detail::ServerCore::add_session(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(sessions_mutex);
  std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  sessions.push_back(s);
}

template <typename F>
void detail::ServerCore::for_each_session(F f) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& w : sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) f(*s);
}

HttpServer::HttpServer(HttpServerOptions options, Router router)
    : impl_(std::make_shared<detail::ServerCore>(std::move(options), std::move(router))) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  detail::ServerCore& s = *impl_;
  const std::string host = s.options.address == "localhost" ? "127.0.0.1" : s.options.address;
  const std::string where = s.options.address + ":" + std::to_string(s.options.port);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return make_error("cannot listen on " + where + ": not an IP address");
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error("cannot listen on " + where + ": " + ec.message());
  s.bound_port = s.acceptor.local_endpoint(ec).port();
  s.work.emplace(net::make_work_guard(s.ioc));
  s.accept();
  for (int i = 0; i < std::max(1, s.options.io_threads); ++i) {
    s.threads.emplace_back([impl = impl_] {
      try {
        impl->ioc.run();
      } catch (const std::exception& e) {
        log::error(std::string("I/O thread stopped by an exception: ") + e.what());
      }
    });
  }
  return ok_status();
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::stop_accepting() {
  if (impl_->stopping.exchange(true)) return;
  // The acceptor belongs to the listener strand, so it is closed there; the caller waits for that,
  // so that once this returns a new connection is refused (unless no thread runs, or this is one).
  // Idle connections are closed there too, after the acceptor: a connection accepted just before
  // is registered by then (its accept handler ran first on the strand), so it is not missed.
  auto closed = std::make_shared<std::promise<void>>();
  auto listener_closed = closed->get_future();
  net::post(impl_->listener, [impl = impl_, closed] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_retry.cancel();
    impl->for_each_session([](Session& s) { s.close_if_idle(); });
    closed->set_value();
  });
  if (!impl_->threads.empty() && !impl_->ioc.get_executor().running_in_this_thread()) {
    listener_closed.wait_for(std::chrono::seconds(2));
  }
}

size_t HttpServer::active_exchanges() const { return impl_->exchanges.load(); }

bool HttpServer::wait_until_idle(std::chrono::steady_clock::time_point deadline) const {
  while (impl_->exchanges.load() > 0) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void HttpServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  if (impl_->threads.empty()) return;
  stop_accepting();
  impl_->for_each_session([](Session& s) { s.close_now(); });
  // With the connections closed and the work guard gone, the loop runs dry and the threads end.
  impl_->work.reset();
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (!impl_->ioc.stopped() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->ioc.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
  // Handlers still queued hold sessions, and sessions hold the core: run them out (their sockets
  // are closed, so they end without starting new work) to release both.
  impl_->ioc.restart();
  impl_->ioc.poll();
  std::lock_guard lock(impl_->sessions_mutex);
  impl_->sessions.clear();
}

size_t queued_stream_bytes() { return g_queued_stream_bytes.load(); }

}  // namespace tandem::http
