#include "gateway/links/upstream_pool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>

namespace tandem::gateway {

namespace net = boost::asio;
using tcp = net::ip::tcp;

UpstreamPool::UpstreamPool(net::io_context& ioc, const LinkConfig& link, size_t max_idle,
                           std::chrono::milliseconds connect_timeout)
    : ioc_(ioc), link_(link), max_idle_(max_idle), connect_timeout_(connect_timeout) {
  const bool v6 = link.host.find(':') != std::string::npos;
  host_header_ = (v6 ? "[" + link.host + "]" : link.host) + ":" + std::to_string(link.port);
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take() {
  const auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    std::unique_ptr<UpstreamConnection> c = std::move(idle_.back());
    idle_.pop_back();
    if (now - c->idle_since < kMaxIdle && c->stream.socket().is_open()) return c;
  }
  return nullptr;
}

void UpstreamPool::give_back(std::unique_ptr<UpstreamConnection> connection) {
  if (!connection || idle_.size() >= max_idle_ || !connection->stream.socket().is_open()) return;
  connection->idle_since = std::chrono::steady_clock::now();
  connection->reused = true;
  connection->buffer.clear();
  idle_.push_back(std::move(connection));
}

void UpstreamPool::connect(ConnectHandler handler) {
  auto connection = std::make_unique<UpstreamConnection>(ioc_);
  boost::system::error_code ec;
  const auto address = net::ip::make_address(link_.host, ec);
  auto* raw = connection.get();
  raw->stream.expires_after(connect_timeout_);
  auto done = [handler = std::move(handler), connection = std::move(connection)](boost::system::error_code e,
                                                                               auto&&...) mutable {
    if (!e) connection->stream.socket().set_option(tcp::no_delay(true), e);
    handler(e, e ? nullptr : std::move(connection));
  };
  if (!ec) {
    raw->stream.async_connect(tcp::endpoint(address, link_.port), std::move(done));
    return;
  }
  // A host name: resolve it now (addresses may change while the gateway runs).
  auto resolver = std::make_shared<tcp::resolver>(ioc_);
  resolver->async_resolve(link_.host, std::to_string(link_.port),
                          [raw, resolver, done = std::move(done)](boost::system::error_code e,
                                                                  tcp::resolver::results_type results) mutable {
                            if (e) return done(e);
                            raw->stream.async_connect(results, std::move(done));
                          });
}

}  // namespace tandem::gateway
