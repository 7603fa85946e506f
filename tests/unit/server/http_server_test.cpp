// The HTTP server on loopback with a test router, driven by a raw socket client.

#include "http/http_server.h"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <future>
#include <thread>

#include "http/gzip.h"

namespace tandem::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr const char* kKey = "test-key-0123456789";

class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    // Bounded waits: a broken server fails the test instead of hanging it.
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void send(const std::string& raw) { net::write(socket_, net::buffer(raw)); }
  bhttp::response<bhttp::string_body> read() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    bhttp::read(socket_, buffer_, parser);
    return parser.release();
  }
  bhttp::response<bhttp::string_body> request(const std::string& method, const std::string& target,
                                              const std::string& body = "", const std::string& extra = "",
                                              bool with_key = true) {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (with_key) raw += std::string("Authorization: Bearer ") + kKey + "\r\n";
    raw += extra;
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    send(raw);
    return read();
  }
  // True when the server closed the connection (EOF within the receive timeout).
  bool closed_by_server() {
    char c;
    beast::error_code ec;
    socket_.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }
  void close() { socket_.close(); }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add("POST", "/echo", [](const HttpRequest& req, std::shared_ptr<Responder> res) {
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = req.body;
      res->send(std::move(r));
    });
    router.add("GET", "/big", [](const HttpRequest&, std::shared_ptr<Responder> res) {
      HttpResponse r;
      r.body = "[" + std::string(20000, '1') + "]";
      res->send(std::move(r));
    });
    router.add("GET", "/health", [](const HttpRequest&, std::shared_ptr<Responder> res) {
      res->send(HttpResponse{200, "application/json", "{\"status\":\"ok\"}", {}});
    });
    router.add("GET", "/stream", [this](const HttpRequest&, std::shared_ptr<Responder> res) {
      std::lock_guard lock(mutex_);
      threads_.emplace_back([res] {
        res->start_stream(200, "text/event-stream");
        for (int i = 0; i < 3; ++i) res->send_chunk("data: " + std::to_string(i) + "\n\n");
        res->end_stream();
      });
    });
    router.add("GET", "/hang", [this](const HttpRequest&, std::shared_ptr<Responder> res) {
      res->on_disconnect([this, res] {
        disconnected_.set_value(true);
        res->send(HttpResponse{});  // ignored: the client is gone, but the exchange ends
      });
    });
    router.add("GET", "/throw", [](const HttpRequest&, std::shared_ptr<Responder>) {
      throw std::runtime_error("boom");
    });
    // A short generation: two chunks and the end, from another thread, as fast as it can. Clients
    // that hang up after the first chunk race the end of the stream (issue 10, item 1).
    router.add("GET", "/short-stream", [this](const HttpRequest&, std::shared_ptr<Responder> res) {
      std::lock_guard lock(mutex_);
      threads_.emplace_back([res] {
        res->start_stream(200, "text/event-stream");
        res->send_chunk("data: " + std::string(100, 'a') + "\n\n");
        res->send_chunk("data: " + std::string(60000, 'b') + "\n\n");
        res->end_stream("data: [DONE]\n\n");
      });
    });
    // A stream whose end comes from the hang-up itself, while a write the client never reads is
    // still in flight: the end of the exchange must not free that write's buffers.
    router.add("GET", "/stuck-stream", [](const HttpRequest&, std::shared_ptr<Responder> res) {
      res->on_disconnect([res] { res->end_stream("data: [DONE]\n\n"); });
      res->start_stream(200, "text/event-stream");
      res->send_chunk("data: first\n\n");
      res->send_chunk("data: " + std::string(16 << 20, 'x') + "\n\n");
    });
    HttpServerOptions options = base_options();
    options.port = 0;
    options.max_body_bytes = 1024;
    options.api_keys = {kKey};
    options.cors_origins = {"https://ui.example"};
    options.on_response = [this](std::string_view, int status, double) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(status);
    };
    server_ = std::make_unique<HttpServer>(options, std::move(router));
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override {
    server_->stop();
    std::lock_guard lock(mutex_);
    for (auto& t : threads_) t.join();
  }
  virtual HttpServerOptions base_options() {
    HttpServerOptions options;
    options.read_timeout = 1000ms;
    options.idle_timeout = 2000ms;
    return options;
  }

  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
  std::promise<bool> disconnected_;
  std::mutex mutex_;
  std::vector<int> statuses_;
};

// A raw connection from a chosen loopback address (127.0.0.2 is loopback on Linux too).
int connect_from(const char* source, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

// Reads until the peer closes or the receive timeout; returns what came.
std::string read_until_closed(int fd) {
  std::string all;
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  return all;
}

// Closes with RST instead of FIN, as a client that crashes or is killed does.
void reset_close(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client c(server_->port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("POST", "/echo", "hello " + std::to_string(i));
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), "hello " + std::to_string(i));
    EXPECT_TRUE(r.keep_alive());
    EXPECT_FALSE(r["X-Request-Id"].empty());
  }
}

TEST_F(HttpServerTest, ApiKeysGuardEveryRouteButHealth) {
  Client c(server_->port());
  auto missing = c.request("POST", "/echo", "x", "", false);
  EXPECT_EQ(missing.result_int(), 401);
  EXPECT_NE(missing.body().find("\"code\":\"invalid_api_key\""), std::string::npos);
  EXPECT_NE(missing.body().find("Authorization: Bearer"), std::string::npos);
  auto wrong = c.request("POST", "/echo", "x", "Authorization: Bearer nope\r\n", false);
  EXPECT_EQ(wrong.result_int(), 401);
  EXPECT_EQ(c.request("GET", "/health", "", "", false).result_int(), 200);
  EXPECT_EQ(c.request("GET", "/nowhere", "", "", false).result_int(), 401);
}

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowed) {
  Client c(server_->port());
  auto nf = c.request("GET", "/nowhere");
  EXPECT_EQ(nf.result_int(), 404);
  EXPECT_NE(nf.body().find("\"error\""), std::string::npos);
  auto na = c.request("GET", "/echo");
  EXPECT_EQ(na.result_int(), 405);
  EXPECT_EQ(na[bhttp::field::allow], "POST");
}

TEST_F(HttpServerTest, OversizeBodiesGet413) {
  Client c(server_->port());
  auto r = c.request("POST", "/echo", std::string(2000, 'x'));
  EXPECT_EQ(r.result_int(), 413);
  EXPECT_NE(r.body().find("limits.max_body_bytes"), std::string::npos);
  EXPECT_TRUE(c.closed_by_server());

  Client chunked(server_->port());
  chunked.send(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey +
               "\r\nTransfer-Encoding: chunked\r\n\r\n" + "800\r\n" + std::string(0x800, 'y') + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read().result_int(), 413);
}

TEST_F(HttpServerTest, GzipRequestBodies) {
  Client c(server_->port());
  auto ok = c.request("POST", "/echo", gzip_compress("compressed hello"), "Content-Encoding: gzip\r\n");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.body(), "compressed hello");
  auto bomb = c.request("POST", "/echo", gzip_compress(std::string(100000, 'a')), "Content-Encoding: gzip\r\n");
  EXPECT_EQ(bomb.result_int(), 413);
  Client c2(server_->port());
  EXPECT_EQ(c2.request("POST", "/echo", "not gzip", "Content-Encoding: gzip\r\n").result_int(), 400);
  EXPECT_EQ(c2.request("POST", "/echo", "x", "Content-Encoding: br\r\n").result_int(), 415);
}

TEST_F(HttpServerTest, GzipResponsesWhenAccepted) {
  Client c(server_->port());
  auto plain = c.request("GET", "/big");
  EXPECT_EQ(plain[bhttp::field::content_encoding], "");
  EXPECT_EQ(plain.body().size(), 20002u);
  auto packed = c.request("GET", "/big", "", "Accept-Encoding: gzip, deflate\r\n");
  EXPECT_EQ(packed[bhttp::field::content_encoding], "gzip");
  EXPECT_LT(packed.body().size(), 1000u);
  EXPECT_EQ(gzip_decompress(packed.body(), 1 << 20).data.size(), 20002u);
}

TEST_F(HttpServerTest, StreamsChunksFromAnotherThread) {
  Client c(server_->port());
  auto r = c.request("GET", "/stream");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_TRUE(r.chunked());
  EXPECT_EQ(r[bhttp::field::content_type], "text/event-stream");
  EXPECT_EQ(r.body(), "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  EXPECT_EQ(c.request("POST", "/echo", "after").body(), "after");  // the connection lives on
}

TEST_F(HttpServerTest, ClientThatHangsUpIsNoticed) {
  auto fired = disconnected_.get_future();
  {
    Client c(server_->port());
    c.send(std::string("GET /hang HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey + "\r\n\r\n");
    std::this_thread::sleep_for(50ms);
    c.close();
  }
  ASSERT_EQ(fired.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(server_->wait_until_idle(std::chrono::steady_clock::now() + 2s));
  std::lock_guard lock(mutex_);
  ASSERT_FALSE(statuses_.empty());
  EXPECT_EQ(statuses_.back(), 499);
}

TEST_F(HttpServerTest, MalformedHttpAndThrowingHandlers) {
  Client c(server_->port());
  c.send("THIS IS NOT HTTP\r\n\r\n");
  auto bad = c.read();
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_TRUE(c.closed_by_server());
  Client t(server_->port());
  auto thrown = t.request("GET", "/throw");
  EXPECT_EQ(thrown.result_int(), 500);
  EXPECT_NE(thrown.body().find("server_error"), std::string::npos);
  EXPECT_EQ(t.request("POST", "/echo", "still up").body(), "still up");
}

TEST_F(HttpServerTest, SlowClientsAreCutOffByTheReadTimeout) {
  Client c(server_->port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\n");  // headers never finish
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.read().result_int(), 408);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST_F(HttpServerTest, CorsPreflightAndHeaders) {
  Client c(server_->port());
  auto pre = c.request("OPTIONS", "/echo", "",
                       "Origin: https://ui.example\r\nAccess-Control-Request-Method: POST\r\n"
                       "Access-Control-Request-Headers: authorization, content-type\r\n",
                       false);
  EXPECT_EQ(pre.result_int(), 204);
  EXPECT_EQ(pre["Access-Control-Allow-Origin"], "https://ui.example");
  auto r = c.request("POST", "/echo", "x", "Origin: https://ui.example\r\n");
  EXPECT_EQ(r["Access-Control-Allow-Origin"], "https://ui.example");
  EXPECT_NE(r["Access-Control-Expose-Headers"].find("X-Tandem-Link"), std::string::npos);
  auto other = c.request("POST", "/echo", "x", "Origin: https://evil.example\r\n");
  EXPECT_EQ(other["Access-Control-Allow-Origin"], "");
}

TEST_F(HttpServerTest, StopAcceptingClosesIdleConnectionsAndTheListener) {
  Client idle(server_->port());
  EXPECT_EQ(idle.request("POST", "/echo", "x").result_int(), 200);
  server_->stop_accepting();
  EXPECT_TRUE(idle.closed_by_server());
  net::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()), ec);
  EXPECT_TRUE(ec);
}

// The listener is closed on one I/O thread while an accepted connection re-arms it on another:
// the acceptor must be touched from one place at a time (a ThreadSanitizer run caught the two
// threads racing when they were not). Connections keep arriving throughout so that they overlap;
// several servers, each with four I/O threads, make the overlap likely in one run.
TEST(HttpServerStop, StopAcceptingWhileConnectionsArriveIsSafe) {
  for (int round = 0; round < 20; ++round) {
    HttpServerOptions options;
    options.port = 0;
    options.io_threads = 4;
    HttpServer server(options, Router{});
    ASSERT_TRUE(server.start().ok());
    const uint16_t port = server.port();
    std::atomic<bool> done{false};
    std::atomic<int> connected{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 6; ++i) {
      clients.emplace_back([&] {
        while (!done.load()) {
          const int fd = connect_from("127.0.0.1", port);
          if (fd >= 0) {
            connected.fetch_add(1);
            ::close(fd);
          }
        }
      });
    }
    for (int waited = 0; waited < 10000 && connected.load() < 20; ++waited) std::this_thread::sleep_for(1ms);
    server.stop_accepting();
    done = true;
    for (auto& t : clients) t.join();
    EXPECT_GE(connected.load(), 20) << "round " << round;
    // From another address: a socket bound to 127.0.0.1 with port 0 often gets the port the
    // listener just freed, and connecting to itself succeeds (TCP simultaneous open).
    EXPECT_EQ(connect_from("127.0.0.2", port), -1) << "round " << round << ": the listener is open after stop_accepting";
    server.stop();
  }
}

// Issue 10, item 1: a client that hangs up right after the first chunk of a short stream raced
// the end of the stream; the write queue was cleared under a write in flight (double free).
TEST_F(HttpServerTest, HangUpsRightAfterTheFirstChunkLeaveTheServerWhole) {
  const std::string request = std::string("GET /short-stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey +
                              "\r\n\r\n";
  auto hang_up_loop = [&](int rounds, bool rst) {
    for (int i = 0; i < rounds; ++i) {
      const int fd = connect_from("127.0.0.1", server_->port());
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
      std::string seen;
      char buf[4096];
      while (seen.find("data: ") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        seen.append(buf, static_cast<size_t>(n));
      }
      if (rst) {
        reset_close(fd);
      } else {
        ::close(fd);
      }
    }
  };
  std::thread a(hang_up_loop, 400, true), b(hang_up_loop, 400, false);
  a.join();
  b.join();
  // Still serving, and every exchange ended.
  Client c(server_->port());
  EXPECT_EQ(c.request("POST", "/echo", "alive").body(), "alive");
  EXPECT_TRUE(server_->wait_until_idle(std::chrono::steady_clock::now() + 5s));
}

// The same race made deterministic: the client half-closes (FIN) while the server is blocked
// writing a chunk it will never read, and the stream ends from the disconnect callback.
TEST_F(HttpServerTest, EndingAStreamWhileItsWriteIsInFlightIsSafe) {
  const std::string request = std::string("GET /stuck-stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey +
                              "\r\n\r\n";
  for (int i = 0; i < 3; ++i) {
    const int fd = connect_from("127.0.0.1", server_->port());
    ASSERT_GE(fd, 0);
    ASSERT_GT(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), 0);
    std::string seen;
    char buf[4096];
    while (seen.find("data: first") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      ASSERT_GT(n, 0);
      seen.append(buf, static_cast<size_t>(n));
    }
    ::shutdown(fd, SHUT_WR);
    std::this_thread::sleep_for(200ms);
    ::close(fd);
  }
  Client c(server_->port());
  EXPECT_EQ(c.request("POST", "/echo", "alive").body(), "alive");
  EXPECT_TRUE(server_->wait_until_idle(std::chrono::steady_clock::now() + 5s));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(std::count(statuses_.begin(), statuses_.end(), 499), 3);
}

// Issue 10, item 7: a Transfer-Encoding the server cannot frame must end the connection, or the
// body would be read as the next request (request smuggling; RFC 9112 section 6.1).
TEST_F(HttpServerTest, UnknownTransferEncodingsCloseTheConnection) {
  for (const char* coding : {"foo", "chunked, identity", "identity", "gzip"}) {
    SCOPED_TRACE(coding);
    Client c(server_->port());
    const std::string smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    c.send(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey +
           "\r\nTransfer-Encoding: " + coding + "\r\n\r\n" + smuggled);
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 400);
    EXPECT_NE(r.body().find("Transfer-Encoding"), std::string::npos);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(c.closed_by_server());  // and the smuggled request was never answered
  }
  Client both(server_->port());
  both.send(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey +
            "\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(both.read().result_int(), 400);
  EXPECT_TRUE(both.closed_by_server());
}

// Issue 10, item 8: a body that stops arriving gets a 408 before the connection closes.
TEST_F(HttpServerTest, APartialBodyGets408) {
  Client c(server_->port());
  c.send(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kKey +
         "\r\nContent-Length: 100\r\n\r\nonly part");
  auto r = c.read();
  EXPECT_EQ(r.result_int(), 408);
  EXPECT_NE(r.body().find("timeout"), std::string::npos);
  EXPECT_TRUE(c.closed_by_server());
}

// Issue 10, item 8: a client that starts sending its next request on a keep-alive connection has
// the read timeout (1 s here) to finish it, not the idle timeout (long here).
class HttpServerLongIdleTest : public HttpServerTest {
 protected:
  HttpServerOptions base_options() override {
    HttpServerOptions options;
    options.read_timeout = 500ms;
    options.idle_timeout = 30s;
    return options;
  }
};

TEST_F(HttpServerLongIdleTest, ASlowHeaderAfterKeepAliveGetsTheReadTimeout) {
  Client c(server_->port());
  EXPECT_EQ(c.request("POST", "/echo", "first").result_int(), 200);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\n");  // and nothing more
  const auto start = std::chrono::steady_clock::now();
  auto r = c.read();  // the client's receive timeout is 5 s; the idle timeout would be 30 s
  EXPECT_EQ(r.result_int(), 408);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(HttpServerLongIdleTest, AnIdleKeepAliveConnectionIsKeptPastTheReadTimeout) {
  Client c(server_->port());
  EXPECT_EQ(c.request("POST", "/echo", "first").result_int(), 200);
  std::this_thread::sleep_for(1200ms);  // past the read timeout, well within the idle timeout
  EXPECT_EQ(c.request("POST", "/echo", "second").body(), "second");
}

// Issue 10, item 9: HTTP/1.0 has no chunked encoding: a stream is the raw body, ended by close.
TEST_F(HttpServerTest, Http10ClientsGetStreamsWithoutChunking) {
  const int fd = connect_from("127.0.0.1", server_->port());
  ASSERT_GE(fd, 0);
  const std::string request = std::string("GET /stream HTTP/1.0\r\nAuthorization: Bearer ") + kKey + "\r\n\r\n";
  ASSERT_GT(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), 0);
  const std::string response = read_until_closed(fd);
  ::close(fd);
  const size_t end_of_headers = response.find("\r\n\r\n");
  ASSERT_NE(end_of_headers, std::string::npos) << response;
  const std::string headers = to_lower(response.substr(0, end_of_headers));
  EXPECT_EQ(headers.find("transfer-encoding"), std::string::npos) << headers;
  EXPECT_NE(headers.find("connection: close"), std::string::npos) << headers;
  EXPECT_EQ(response.substr(end_of_headers + 4), "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

// Issue 10, item 5: one address cannot take every connection slot.
class HttpServerConnectionCapTest : public HttpServerTest {
 protected:
  HttpServerOptions base_options() override {
    HttpServerOptions options = HttpServerTest::base_options();
    options.idle_timeout = 30s;
    options.read_timeout = 30s;
    options.max_connections = 12;
    options.max_connections_per_address = 4;
    return options;
  }
};

TEST_F(HttpServerConnectionCapTest, OneAddressCannotLockOthersOut) {
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(connect_from("127.0.0.2", server_->port()));
    ASSERT_GE(idle.back(), 0);
  }
  // The fifth from the same address is turned away with a 503 that says why.
  const int extra = connect_from("127.0.0.2", server_->port());
  ASSERT_GE(extra, 0);
  const std::string refused = read_until_closed(extra);
  ::close(extra);
  EXPECT_NE(refused.find("503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("max_connections_per_address"), std::string::npos) << refused;
  // Another address is still served.
  Client c(server_->port());
  EXPECT_EQ(c.request("POST", "/echo", "served").body(), "served");
  // A slot comes back when a connection closes.
  ::close(idle.back());
  idle.pop_back();
  bool served_again = false;
  for (int attempt = 0; attempt < 50 && !served_again; ++attempt) {
    const int fd = connect_from("127.0.0.2", server_->port());
    const std::string req = std::string("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    served_again = read_until_closed(fd).starts_with("HTTP/1.1 200");
    ::close(fd);
    if (!served_again) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(served_again);
  for (int fd : idle) ::close(fd);
}

TEST_F(HttpServerConnectionCapTest, TheGlobalCapTurnsAwayNewConnectionsWithA503) {
  std::vector<int> idle;
  const char* sources[] = {"127.0.0.3", "127.0.0.4", "127.0.0.5"};
  for (const char* source : sources) {
    for (int i = 0; i < 4; ++i) idle.push_back(connect_from(source, server_->port()));
  }
  std::this_thread::sleep_for(100ms);  // let the server accept them all
  const int extra = connect_from("127.0.0.6", server_->port());
  ASSERT_GE(extra, 0);
  const std::string refused = read_until_closed(extra);
  ::close(extra);
  EXPECT_NE(refused.find("503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("max_connections"), std::string::npos) << refused;
  for (int fd : idle) ::close(fd);
}

TEST(HttpServer, ListeningOnABusyPortIsAClearError) {
  HttpServer first(HttpServerOptions{}, Router{});
  ASSERT_TRUE(first.start().ok());
  HttpServerOptions options;
  options.port = first.port();
  HttpServer second(options, Router{});
  auto started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos);
}

}  // namespace
}  // namespace tandem::http
