#include "gateway/links/upstream_fetch.h"

#include <boost/beast/http.hpp>
#include <memory>

namespace tandem::gateway {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;

struct Fetch : std::enable_shared_from_this<Fetch> {
  UpstreamPool& pool;
  std::unique_ptr<UpstreamConnection> connection;
  bhttp::request<bhttp::empty_body> request;
  bhttp::response<bhttp::string_body> response;
  std::chrono::milliseconds timeout;
  std::function<void(FetchResult)> done;
  Clock::time_point started;
  bool retried_fresh = false;

  Fetch(UpstreamPool& p, std::chrono::milliseconds t, std::function<void(FetchResult)> d)
      : pool(p), timeout(t), done(std::move(d)) {}

  void start() {
    started = Clock::now();
    connection = pool.take();
    if (connection) return send();
    open();
  }

  void open() {
    pool.connect([self = shared_from_this()](beast::error_code ec, std::unique_ptr<UpstreamConnection> c) {
      if (ec) return self->fail(ec);
      self->connection = std::move(c);
      self->send();
    });
  }

  void send() {
    connection->stream.expires_at(started + timeout);
    bhttp::async_write(connection->stream, request, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->fail(ec);
      bhttp::async_read(self->connection->stream, self->connection->buffer, self->response,
                        [self](beast::error_code rec, size_t) {
                          if (rec) return self->fail(rec);
                          self->finish();
                        });
    });
  }

  void finish() {
    FetchResult r;
    r.answered = true;
    r.status = response.result_int();
    r.body = std::move(response.body());
    r.rtt_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    connection->stream.expires_never();
    if (response.keep_alive()) pool.give_back(std::move(connection));
    done(std::move(r));
  }

  void fail(beast::error_code ec) {
    const bool stale = connection && connection->reused && !retried_fresh && ec != beast::error::timeout;
    connection.reset();
    if (stale) {
      // The backend closed a kept-alive connection: try once on a new one.
      retried_fresh = true;
      response = {};
      return open();
    }
    FetchResult r;
    r.error = ec == beast::error::timeout ? "timed out after " + std::to_string(timeout.count()) + " ms" : ec.message();
    r.connection_failed = ec == boost::asio::error::connection_refused || ec == boost::asio::error::connection_reset ||
                          ec == boost::asio::error::host_unreachable || ec == boost::asio::error::network_unreachable;
    done(std::move(r));
  }
};

}  // namespace

void fetch(UpstreamPool& pool, const std::string& target, const std::string& api_key,
           std::chrono::milliseconds timeout, std::function<void(FetchResult)> done) {
  auto f = std::make_shared<Fetch>(pool, timeout, std::move(done));
  f->request = bhttp::request<bhttp::empty_body>(bhttp::verb::get, target, 11);
  f->request.set(bhttp::field::host, pool.host_header());
  f->request.set(bhttp::field::user_agent, "tandem-gateway");
  if (!api_key.empty()) f->request.set(bhttp::field::authorization, "Bearer " + api_key);
  f->request.keep_alive(true);
  f->start();
}

}  // namespace tandem::gateway
