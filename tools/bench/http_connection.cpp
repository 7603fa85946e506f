#include "tools/bench/http_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>

namespace tandem::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A response body may be long (a non-streamed completion); past this it is a protocol failure.
constexpr uint64_t kMaxBodyBytes = 64ull << 20;

// Starts an asynchronous operation and runs the io_context until its handler has run: the
// operation keeps tcp_stream's deadline, and the caller reads like straight-line code.
template <typename Start>
beast::error_code run_until_done(asio::io_context& ioc, Start&& start) {
  bool done = false;
  beast::error_code result;
  start([&](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  while (!done) {
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one() == 0 && !done) {
      ioc.restart();
    }
  }
  return result;
}

ExchangeResult failed(ExchangeFailure failure, const beast::error_code& ec, int status = 0) {
  return {failure, ec.message(), status};
}

// A reset, an end of stream or a cut-short message all mean the peer went away mid-response.
bool is_closed(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

}  // namespace

HttpConnection::HttpConnection(TargetUrl target) : target_(std::move(target)), stream_(ioc_) {}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
  buffer_.clear();
  connected_ = false;
}

ExchangeResult HttpConnection::connect(Clock::time_point deadline) {
  if (connected_) return {};
  tcp::resolver resolver(ioc_);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(target_.host, std::to_string(target_.port), ec);
  if (ec) return failed(ExchangeFailure::kConnect, ec);
  stream_.expires_at(deadline);
  ec = run_until_done(ioc_, [&](auto handler) { stream_.async_connect(endpoints, std::move(handler)); });
  if (ec) {
    close();
    return failed(ec == beast::error::timeout ? ExchangeFailure::kTimeout : ExchangeFailure::kConnect, ec);
  }
  stream_.socket().set_option(tcp::no_delay(true), ec);
  connected_ = true;
  return {};
}

ExchangeResult HttpConnection::exchange(const http::request<http::string_body>& request, Clock::time_point deadline,
                                        const HeaderCallback& on_header, const BodyCallback& on_body) {
  const bool reused = connected_;
  bool header_seen = false;
  ExchangeResult result = attempt(request, deadline, on_header, on_body, header_seen);
  if (reused && !header_seen && (result.failure == ExchangeFailure::kClosed)) {
    result = attempt(request, deadline, on_header, on_body, header_seen);
  }
  return result;
}

ExchangeResult HttpConnection::attempt(const http::request<http::string_body>& request, Clock::time_point deadline,
                                       const HeaderCallback& on_header, const BodyCallback& on_body,
                                       bool& header_seen) {
  if (ExchangeResult connected = connect(deadline); connected.failure != ExchangeFailure::kNone) return connected;

  stream_.expires_at(deadline);
  beast::error_code ec =
      run_until_done(ioc_, [&](auto handler) { http::async_write(stream_, request, std::move(handler)); });
  if (ec) {
    close();
    return failed(ec == beast::error::timeout ? ExchangeFailure::kTimeout : ExchangeFailure::kClosed, ec);
  }

  http::response_parser<http::buffer_body> parser;
  parser.body_limit(kMaxBodyBytes);
  stream_.expires_at(deadline);
  ec = run_until_done(ioc_, [&](auto handler) { http::async_read_header(stream_, buffer_, parser, std::move(handler)); });
  if (ec) {
    close();
    if (ec == beast::error::timeout) return failed(ExchangeFailure::kTimeout, ec);
    return failed(is_closed(ec) ? ExchangeFailure::kClosed : ExchangeFailure::kProtocol, ec);
  }
  header_seen = true;
  const int status = static_cast<int>(parser.get().result_int());
  on_header(status, parser.get()[http::field::content_type]);

  char piece[16384];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    stream_.expires_at(deadline);
    ec = run_until_done(ioc_, [&](auto handler) { http::async_read_some(stream_, buffer_, parser, std::move(handler)); });
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = sizeof piece - parser.get().body().size;
    if (n > 0) on_body(std::string_view(piece, n));
    if (ec) {
      close();
      if (ec == beast::error::timeout) return failed(ExchangeFailure::kTimeout, ec, status);
      return failed(is_closed(ec) ? ExchangeFailure::kClosed : ExchangeFailure::kProtocol, ec, status);
    }
  }
  if (!parser.keep_alive()) close();
  return {ExchangeFailure::kNone, "", status};
}

}  // namespace tandem::bench
