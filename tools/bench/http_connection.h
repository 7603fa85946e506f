#pragma once
// One kept-alive HTTP/1.1 connection of one bench client, on Boost.Beast. Calls block the calling
// thread (each client is a thread) but every step has a deadline: the operations are Beast's
// asynchronous ones, with beast::tcp_stream's timer, driven by this connection's own io_context.
// Not thread-safe: one connection per client thread.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "tools/bench/target_url.h"

namespace tandem::bench {

using Clock = std::chrono::steady_clock;

enum class ExchangeFailure {
  kNone,
  kConnect,   // resolving or connecting failed (refused: nothing listens there)
  kTimeout,   // the deadline passed
  kClosed,    // the connection closed or reset before the response was complete
  kProtocol,  // the bytes were not an HTTP response Beast could parse
};

struct ExchangeResult {
  ExchangeFailure failure = ExchangeFailure::kNone;
  std::string detail;  // the system's or Beast's message, when failed
  int status = 0;      // 0 until a response header arrived
};

class HttpConnection {
 public:
  using HeaderCallback = std::function<void(int status, std::string_view content_type)>;
  using BodyCallback = std::function<void(std::string_view piece)>;

  explicit HttpConnection(TargetUrl target);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Connects (when not connected yet) by the deadline: kConnect when refused or unreachable.
  ExchangeResult connect(Clock::time_point deadline);

  // Sends `request` (connecting first when needed) and reads the response; `on_header` gets the
  // status and Content-Type once the header is in, `on_body` each piece of the decoded body as it
  // arrives. A kept-alive connection that the server had closed
  // while idle is replaced once, before anything of the response arrived, so that the server's
  // idle timeout is not counted as an error.
  ExchangeResult exchange(const boost::beast::http::request<boost::beast::http::string_body>& request,
                          Clock::time_point deadline, const HeaderCallback& on_header, const BodyCallback& on_body);

 private:
  ExchangeResult attempt(const boost::beast::http::request<boost::beast::http::string_body>& request,
                         Clock::time_point deadline, const HeaderCallback& on_header, const BodyCallback& on_body,
                         bool& header_seen);
  void close();

  TargetUrl target_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace tandem::bench
