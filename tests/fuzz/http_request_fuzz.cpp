// libFuzzer target: any bytes sent to the real HTTP server (tandem::http::HttpServer, started once
// in this process on 127.0.0.1, port 0) must get an answer or a closed connection, never a crash,
// a hang or a leaked exchange, and the server must go on answering /health.
//
// Each input is written raw to a fresh loopback connection, as a client would, in one of three ways
// chosen by a hash of the input (so a crash file reproduces alone):
//   full:      the input, a pipelined "GET /health ... Connection: close" and shutdown(SHUT_WR),
//              read to EOF (the pending request keeps the server from seeing the first as a hang-up);
//   half-close: the input, then shutdown(SHUT_WR), read to EOF (the server sees a hang-up);
//   hang-up:   the input, wait for the first bytes of an answer, then close with RST (the race of
//              a streaming client that leaves after the first chunk).
// The router has the real server's paths: the completion routes echo the JSON body, or stream a few
// events from another thread as the scheduler does when the body says "stream": true; /health,
// /v1/models and the /v1/models/ prefix answer at once. The server has an API key, CORS, the request
// screen (Host allow-list, Origin check), connection caps and a small body limit, so the input
// reaches every check the real server makes.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/http_server.h"
#include "http/request_screen.h"
#include "log/log.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tandem::http::HttpRequest;
using tandem::http::HttpResponse;
using tandem::http::Responder;

// Longer than any server timeout below: past it the server is hung, not slow.
constexpr auto kHangDeadline = 10s;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "http_request_fuzz: %s\n", what);
  std::abort();
}

// Streams a few events per request from its own thread, like the scheduler; stops early when the
// client disconnects.
class StreamWorker {
 public:
  StreamWorker() : thread_([this] { run(); }) { thread_.detach(); }

  // `gap`: the time between events, like a model's time per token; varied by the input so that the
  // end of a stream lands before, during and after a client's hang-up.
  void add(std::shared_ptr<Responder> responder, int n_chunks, std::chrono::microseconds gap) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back({std::move(responder), n_chunks, gap});
    }
    wake_.notify_one();
  }

 private:
  struct Job {
    std::shared_ptr<Responder> responder;
    int n_chunks = 0;
    std::chrono::microseconds gap{0};
  };

  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return !jobs_.empty(); });
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      auto cancelled = std::make_shared<std::atomic<bool>>(false);
      job.responder->on_disconnect([cancelled] { cancelled->store(true); });
      job.responder->start_stream(200, "text/event-stream");
      for (int i = 0; i < job.n_chunks && !cancelled->load(); ++i) {
        job.responder->send_chunk("data: {\"index\":" + std::to_string(i) + "}\n\n");
        std::this_thread::sleep_for(job.gap);
      }
      job.responder->end_stream("data: [DONE]\n\n");
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::thread thread_;
};

struct Fixture {
  StreamWorker worker;
  tandem::http::HttpServer* server = nullptr;
  uint16_t port = 0;

  Fixture() {
    tandem::log::set_level(tandem::log::Level::kError);
    tandem::http::Router router;
    router.add("GET", "/health", [](const HttpRequest&, std::shared_ptr<Responder> res) {
      res->send(HttpResponse{200, "application/json", "{\"status\":\"ok\"}", {}});
    });
    router.add("GET", "/v1/models", [](const HttpRequest&, std::shared_ptr<Responder> res) {
      res->send(HttpResponse{200, "application/json", "{\"object\":\"list\",\"data\":[]}", {}});
    });
    router.add_prefix("GET", "/v1/models/", [](const HttpRequest& req, std::shared_ptr<Responder> res) {
      res->send(HttpResponse{404, "application/json", "{\"error\":\"" + std::to_string(req.path.size()) + "\"}", {}});
    });
    // The completion routes stream when the body asks to (as the real ones do), else echo it.
    const auto completion = [this](const HttpRequest& req, std::shared_ptr<Responder> res) {
      if (req.body.find("\"stream\":true") != std::string::npos ||
          req.body.find("\"stream\": true") != std::string::npos) {
        worker.add(std::move(res), static_cast<int>(req.body.size() % 5),
                   std::chrono::microseconds(req.body.size() % 4 * 200));
        return;
      }
      HttpResponse r;
      r.body = req.body;  // large bodies go back gzip-compressed when the client accepts it
      res->send(std::move(r));
    };
    router.add("POST", "/v1/chat/completions", completion);
    router.add("POST", "/v1/completions", completion);
    tandem::http::HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = 16 << 10;
    options.read_timeout = 1s;
    options.idle_timeout = 1s;
    options.write_timeout = 1s;
    options.api_keys = {"fuzz-key-0123456789"};
    options.cors_origins = {"https://app.example"};
    // The real server's screen: the Host allow-list and the Origin check on state-changing requests.
    options.screen = [screen = std::make_shared<tandem::http::RequestScreen>(
                          std::vector<std::string>{"127.0.0.1", "x", "[::1]:8080"}, options.cors_origins)](
                         const HttpRequest& req) { return screen->check(req); };
    options.max_connections = 64;
    options.max_connections_per_address = 16;
    // Deliberately never destroyed: libFuzzer exits from any thread, and the server's threads must
    // not see it torn down under them.
    server = new tandem::http::HttpServer(std::move(options), std::move(router));
    if (!server->start().ok()) fail("cannot start the server");
    port = server->port();
  }
};

int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("connect() to the server failed");
  timeval tv{2, 0};  // a server that stops reading the request is not a hang of its own
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

// Writes what the server takes; it may close early (a 400 or 413 ends the connection), so errors
// end the write quietly.
void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads until EOF or an error (RST); returns what came, and fails on a server that keeps the
// connection open past every timeout. Stops at `stop_after` bytes when given.
std::string read_until_closed(int fd, size_t stop_after = SIZE_MAX) {
  std::string got;
  const auto deadline = Clock::now() + kHangDeadline;
  char buf[16384];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) fail("the server kept a connection open past every timeout");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return got;
    got.append(buf, static_cast<size_t>(n));
    if (got.size() >= stop_after) return got;
  }
}

void close_with_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

uint32_t fnv1a(const uint8_t* data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

// A 503 is allowed for a moment (connections that just closed may still count against the
// per-address cap); past the deadline the server has stopped answering.
void check_health(uint16_t port) {
  const auto deadline = Clock::now() + kHangDeadline;
  for (;;) {
    const int fd = connect_loopback(port);
    send_all(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    const std::string answer = read_until_closed(fd);
    ::close(fd);
    if (answer.rfind("HTTP/1.1 200", 0) == 0) return;
    if (Clock::now() > deadline) fail("/health stopped answering 200");
    std::this_thread::sleep_for(10ms);
  }
}

void wait_until_idle(const tandem::http::HttpServer& server) {
  if (!server.wait_until_idle(Clock::now() + kHangDeadline)) fail("an exchange never ended (leaked or hung)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fixture = new Fixture();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const int fd = connect_loopback(fixture->port);
  switch (fnv1a(data, size) % 3) {
    case 0:
      send_all(fd, input);
      send_all(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
      ::shutdown(fd, SHUT_WR);  // an unfinished request ends here instead of at the read timeout
      read_until_closed(fd);
      ::close(fd);
      break;
    case 1:
      send_all(fd, input);
      ::shutdown(fd, SHUT_WR);
      read_until_closed(fd);
      ::close(fd);
      break;
    default: {
      send_all(fd, input);
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 20);
      char byte;
      (void)::recv(fd, &byte, 1, MSG_DONTWAIT);
      close_with_reset(fd);
      break;
    }
  }
  wait_until_idle(*fixture->server);
  check_health(fixture->port);
  return 0;
}
