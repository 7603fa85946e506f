// Responder::pending_bytes and when_drained on the real HTTP server: a stream's producer sees what
// its client has not taken yet, and is woken when the client drains it or hangs up.

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "http/http_server.h"

namespace tandem::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

constexpr size_t kChunk = 1 << 20;
constexpr int kChunks = 8;  // more than loopback's socket buffers take

class Backpressure : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.add("GET", "/big", [this](const HttpRequest&, std::shared_ptr<Responder> res) {
      res->start_stream(200, "text/event-stream");
      for (int i = 0; i < kChunks; ++i) res->send_chunk(std::string(kChunk, 'x'));
      responder_.set_value(res);
    });
    HttpServerOptions options;
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options, std::move(router));
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override { server_->stop(); }

  // Sends GET /big and returns the handler's responder (its chunks all sent, none read).
  std::shared_ptr<Responder> start(tcp::socket& socket) {
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), server_->port()));
    net::write(socket, net::buffer(std::string("GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")));
    auto future = responder_.get_future();
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    return future.get();
  }

  std::unique_ptr<HttpServer> server_;
  std::promise<std::shared_ptr<Responder>> responder_;
  net::io_context ioc_;
};

TEST_F(Backpressure, PendingBytesFallAsTheClientReadsAndTheWaiterRuns) {
  tcp::socket socket(ioc_);
  auto res = start(socket);
  // Counted when handed over; the client has read nothing, so most of it is still queued.
  EXPECT_GT(res->pending_bytes(), kChunk);
  EXPECT_GE(queued_stream_bytes(), kChunk);  // the process-wide gauge counts them too
  std::promise<void> drained;
  res->when_drained(0, [&drained] { drained.set_value(); });
  res->end_stream();
  // Read everything: the end of a chunked body is "0\r\n\r\n".
  std::string tail;
  size_t total = 0;
  char buf[65536];
  while (tail.find("0\r\n\r\n") == std::string::npos) {
    const size_t n = socket.read_some(net::buffer(buf));
    total += n;
    tail = tail.substr(tail.size() > 8 ? tail.size() - 8 : 0) + std::string(buf, n);
  }
  EXPECT_GT(total, kChunk * kChunks);
  ASSERT_EQ(drained.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(res->pending_bytes(), 0U);
}

TEST_F(Backpressure, AHangUpWakesTheWaiter) {
  tcp::socket socket(ioc_);
  auto res = start(socket);
  ASSERT_GT(res->pending_bytes(), 0U);
  std::promise<void> woken;
  res->when_drained(0, [&woken] { woken.set_value(); });
  socket.close();
  ASSERT_EQ(woken.get_future().wait_for(10s), std::future_status::ready);
  // A waiter that comes after the hang-up runs at once.
  bool at_once = false;
  res->when_drained(0, [&at_once] { at_once = true; });
  EXPECT_TRUE(at_once);
}

TEST_F(Backpressure, AResponderWithoutAQueueHasNothingPending) {
  struct Plain final : Responder {
    void send(HttpResponse) override {}
    void start_stream(int, std::string, Headers) override {}
    void send_chunk(std::string) override {}
    void end_stream(std::string) override {}
    void on_disconnect(std::function<void()>) override {}
    bool disconnected() const override { return false; }
  } plain;
  EXPECT_EQ(plain.pending_bytes(), 0U);
  bool ran = false;
  plain.when_drained(0, [&ran] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace tandem::http
