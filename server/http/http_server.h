#pragma once
// The HTTP/1.1 server (Boost.Beast on Asio): keep-alive, exact-path routing, a body-size limit
// (413), read/idle/write timeouts, gzip request bodies in and gzip responses out, API keys, CORS.
// Errors found here (bad HTTP, 401, 404, 405, 408, 413, 415) are rendered by error_response().
// A request whose framing cannot be trusted (an unknown Transfer-Encoding, a parse error, a
// timeout) gets its error and the connection is closed, so no byte of it is read as a request.
//
// Threads: `io_threads` threads run every connection; each connection is serialised on its own
// strand, and handlers run there, so they must not block: long work goes to another thread,
// which answers through the Responder.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/api_error.h"
#include "http/router.h"

namespace tandem::http {

namespace detail {
struct ServerCore;  // the listener, the I/O threads and the live connections
}

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port (see HttpServer::port)
  size_t max_body_bytes = 4u << 20;
  std::chrono::milliseconds read_timeout{30'000};   // to receive a whole request
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};  // for the client to take each write
  std::vector<std::string> api_keys;                // empty = no authentication
  std::vector<std::string> public_paths = {"/health"};  // need no key
  std::vector<std::string> cors_origins;
  // Runs first for every request, before CORS preflights, API keys and routing (the Host
  // allow-list and the Origin check, http/request_screen.h); an error it returns is the answer.
  std::function<std::optional<ApiError>(const HttpRequest&)> screen;
  int io_threads = 2;
  // Past either cap a new connection gets a 503 naming the limit and is closed at once. The
  // per-address cap keeps one client (or a flood of idle sockets from one host) from taking
  // every slot.
  size_t max_connections = 1024;
  size_t max_connections_per_address = 256;
  // Called once per answered request, from an I/O thread: the matched route ("" for none), the
  // status (499 when the client left first) and the time from the end of the request.
  std::function<void(std::string_view route, int status, double seconds)> on_response;
};

// Bytes of streamed responses (send_chunk's data) queued in this process's HTTP servers and not
// yet written to their clients' sockets: what slow readers make the process hold. For /metrics.
size_t queued_stream_bytes();

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads; the error names the address and the reason.
  Status start();
  uint16_t port() const;

  // Graceful stop, step one: no new connections, idle keep-alive connections are closed, and
  // requests in progress finish (their connections close after the response).
  void stop_accepting();
  size_t active_exchanges() const;
  // Waits until no request is in progress, or the deadline; true when idle.
  bool wait_until_idle(std::chrono::steady_clock::time_point deadline) const;
  // Closes every connection and joins the I/O threads. Safe to call twice.
  void stop();

 private:
  std::shared_ptr<detail::ServerCore> impl_;
};

}  // namespace tandem::http
