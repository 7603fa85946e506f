// The HTTP server on loopback with a test router, driven by a raw socket client.

#include "http/http_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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
    HttpServerOptions options;
    options.port = 0;
    options.max_body_bytes = 1024;
    options.read_timeout = 1000ms;
    options.idle_timeout = 2000ms;
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
    for (auto& t : threads_) t.join();
  }

  std::unique_ptr<HttpServer> server_;
  std::vector<std::thread> threads_;
  std::promise<bool> disconnected_;
  std::mutex mutex_;
  std::vector<int> statuses_;
};

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
