// run_request over real loopback sockets against a scripted server (Beast on both sides): what
// the bench counts when a server streams, fails, hangs, hangs up or is not there.

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <thread>

#include "tools/bench/load_generator.h"
#include "tools/bench/request_runner.h"

namespace tandem::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// Accepts connections one after another; for each request read, `script` returns the raw bytes
// to send back and whether to close the connection after them.
struct Reply {
  std::string bytes;
  bool close = false;
  bool hang = false;  // send nothing and keep the connection open
};

class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<Reply(int n)> script) : script_(std::move(script)) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    {  // closing the acceptor does not wake a blocked accept(); a connection does
      asio::io_context ioc;
      tcp::socket wake(ioc);
      wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ignored);
    }
    thread_.join();
    acceptor_.close(ignored);
    for (auto& s : open_) s->close(ignored);
  }
  TargetUrl target() const { return {"127.0.0.1", port_, ""}; }
  int connections() const { return connections_; }

 private:
  void serve() {
    int n = 0;
    while (!stopping_) {
      auto socket = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec) return;
      ++connections_;
      open_.push_back(socket);
      boost::beast::flat_buffer buffer;
      while (!stopping_) {
        http::request<http::string_body> request;
        http::read(*socket, buffer, request, ec);
        if (ec) break;
        const Reply reply = script_(n++);
        if (reply.hang) break;  // keep it open (in open_) and take the next connection
        asio::write(*socket, asio::buffer(reply.bytes), ec);
        if (reply.close || ec) {
          socket->close(ec);
          break;
        }
      }
    }
  }

  std::function<Reply(int)> script_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::vector<std::shared_ptr<tcp::socket>> open_;
  std::thread thread_;
};

std::string chunked(const std::vector<std::string>& pieces, bool finish) {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[16];
  for (const auto& p : pieces) {
    std::snprintf(size, sizeof size, "%zx\r\n", p.size());
    out += size + p + "\r\n";
  }
  if (finish) out += "0\r\n\r\n";
  return out;
}

std::string event(const std::string& text) {
  return "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]}\n\n";
}

RequestSpec streaming_spec() {
  RequestSpec spec;
  spec.model = "m";
  spec.stream = true;
  spec.timeout_s = 5;
  return spec;
}

TEST(HttpExchange, StreamedCompletionIsMeasured) {
  ScriptedServer server([](int) {
    return Reply{chunked({event("a"), event("b") + event("c"),
                          "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\n", "data: [DONE]\n\n"},
                         true)};
  });
  HttpConnection connection(server.target());
  for (int i = 0; i < 3; ++i) {
    const RequestRecord r = run_request(connection, server.target(), streaming_spec(), "hi");
    ASSERT_TRUE(r.ok) << r.error_kind << ": " << r.error_detail;
    EXPECT_EQ(r.output_tokens, 3);
    EXPECT_LE(r.ttft_ms, r.e2e_ms);
    EXPECT_LE(r.itl_ms.size(), 2u);
  }
  EXPECT_EQ(server.connections(), 1);  // kept alive
}

TEST(HttpExchange, NonStreamedCompletionTakesUsage) {
  const std::string body = R"({"choices":[{"message":{"content":"x"}}],"usage":{"completion_tokens":7}})";
  ScriptedServer server([&](int) {
    return Reply{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body};
  });
  HttpConnection connection(server.target());
  RequestSpec spec = streaming_spec();
  spec.stream = false;
  const RequestRecord r = run_request(connection, server.target(), spec, "hi");
  ASSERT_TRUE(r.ok) << r.error_kind;
  EXPECT_EQ(r.output_tokens, 7);
  EXPECT_EQ(r.ttft_ms, r.e2e_ms);
}

TEST(HttpExchange, ErrorStatusIsCountedByStatus) {
  const std::string body = R"({"error":{"message":"queue full","type":"server_error"}})";
  ScriptedServer server([&](int) {
    return Reply{"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body};
  });
  HttpConnection connection(server.target());
  const RequestRecord r = run_request(connection, server.target(), streaming_spec(), "hi");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "http_503");
  EXPECT_EQ(r.error_detail, "queue full");
}

TEST(HttpExchange, HangUpMidStreamIsClosed) {
  ScriptedServer server([](int) { return Reply{chunked({event("a")}, false), true}; });
  HttpConnection connection(server.target());
  const RequestRecord r = run_request(connection, server.target(), streaming_spec(), "hi");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "closed");
}

TEST(HttpExchange, NothingListeningIsConnect) {
  TargetUrl target;
  {
    ScriptedServer server([](int) { return Reply{}; });
    target = server.target();
  }  // closed: the port now refuses
  HttpConnection connection(target);
  const RequestRecord r = run_request(connection, target, streaming_spec(), "hi");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "connect");
}

TEST(HttpExchange, SilentServerTimesOut) {
  ScriptedServer server([](int) { return Reply{"", false, true}; });
  HttpConnection connection(server.target());
  RequestSpec spec = streaming_spec();
  spec.timeout_s = 0.3;
  const RequestRecord r = run_request(connection, server.target(), spec, "hi");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_kind, "timeout");
}

TEST(HttpExchange, IdleConnectionClosedByServerIsReplacedNotCounted) {
  // The server closes after each response without saying so (as after its idle timeout).
  ScriptedServer server([](int) {
    return Reply{chunked({event("a"), "data: [DONE]\n\n"}, true), true};
  });
  HttpConnection connection(server.target());
  for (int i = 0; i < 3; ++i) {
    const RequestRecord r = run_request(connection, server.target(), streaming_spec(), "hi");
    ASSERT_TRUE(r.ok) << i << ": " << r.error_kind << " " << r.error_detail;
  }
  EXPECT_EQ(server.connections(), 3);
}

TEST(LoadGenerator, EveryRequestIsSentOnceAndProgressReachesTheEnd) {
  // One request per connection, served one at a time: the other clients wait in the backlog.
  ScriptedServer server([](int) { return Reply{chunked({event("a"), event("b"), "data: [DONE]\n\n"}, true), true}; });
  PromptSource prompts;
  LoadPlan plan{server.target(), streaming_spec(), &prompts, 8};
  LevelProgress last;
  int calls = 0;
  const LevelRun run = run_level(plan, 4, 20, [&](const LevelProgress& p) {
    EXPECT_GE(p.done, last.done);  // never goes back
    last = p;
    ++calls;
  });
  ASSERT_EQ(run.records.size(), 20u);
  for (const RequestRecord& r : run.records) EXPECT_TRUE(r.ok) << r.error_kind << " " << r.error_detail;
  EXPECT_EQ(last.done, 20);
  EXPECT_EQ(last.errors, 0);
  EXPECT_GE(calls, 1);
  EXPECT_GT(run.duration_s, 0);
  EXPECT_EQ(server.connections(), 20);
}

}  // namespace
}  // namespace tandem::bench
