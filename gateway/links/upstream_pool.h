#pragma once
// A link's kept-alive upstream connections. Requests and probes take one (or open a new one), and
// give it back after a complete response that allows reuse. A connection idle for longer than
// kMaxIdle is dropped rather than reused: the backend may have closed it (its own idle timeout).
//
// Threads: every connection's I/O runs on the gateway's one upstream I/O thread; take/give_back
// may be called from it only, so the pool needs no lock.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/config/gateway_config.h"

namespace tandem::gateway {

struct UpstreamConnection {
  explicit UpstreamConnection(boost::asio::io_context& ioc) : stream(ioc) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
  bool reused = false;  // it served a response before: a failure may mean the backend closed it
};

class UpstreamPool {
 public:
  UpstreamPool(boost::asio::io_context& ioc, const LinkConfig& link, size_t max_idle,
               std::chrono::milliseconds connect_timeout);

  // An idle connection, or null.
  std::unique_ptr<UpstreamConnection> take();
  void give_back(std::unique_ptr<UpstreamConnection> connection);
  // Drops every idle connection (the link went down: they are dead).
  void clear() { idle_.clear(); }

  using ConnectHandler = std::function<void(boost::system::error_code, std::unique_ptr<UpstreamConnection>)>;
  // Opens a new connection within the connect timeout; resolves the host name each time.
  void connect(ConnectHandler handler);

  // "192.168.1.200:8080", for the Host header.
  const std::string& host_header() const { return host_header_; }

 private:
  static constexpr std::chrono::seconds kMaxIdle{20};
  boost::asio::io_context& ioc_;
  const LinkConfig& link_;
  size_t max_idle_;
  std::chrono::milliseconds connect_timeout_;
  std::string host_header_;
  std::vector<std::unique_ptr<UpstreamConnection>> idle_;
};

}  // namespace tandem::gateway
