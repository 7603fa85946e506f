#include "monitor/webhook.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace tandem::monitor {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, remaining_ms(deadline)) == 1;
}

}  // namespace

Result<int> post_json(const std::string& url, const std::string& body, double timeout_seconds) {
  if (url.rfind("http://", 0) != 0) return make_error("\"" + url + "\" is not an http:// URL");
  const std::string rest = url.substr(7);
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = authority, port = "80";
  if (const size_t colon = authority.rfind(':'); colon != std::string::npos && authority.find(']') == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.find(']') - 1);
  const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return make_error("resolve " + host + ": " + gai_strerror(rc));
  }
  int fd = -1;
  std::string failure = "no address for " + host;
  for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    int err = errno;
    if (err == EINPROGRESS && wait_for(fd, POLLOUT, deadline)) {
      socklen_t len = sizeof(err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) break;
    } else if (err == EINPROGRESS) {
      err = ETIMEDOUT;
    }
    failure = "connect to " + authority + ": " + std::strerror(err);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(found);
  if (fd < 0) return make_error(failure);

  const std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + authority +
                              "\r\nContent-Type: application/json\r\nUser-Agent: tandem-monitor\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN && wait_for(fd, POLLOUT, deadline)) {
      continue;
    } else {
      ::close(fd);
      return make_error("send to " + authority + " failed or timed out");
    }
  }
  // The status line is all we need: "HTTP/1.1 200 OK".
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      head.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EAGAIN && wait_for(fd, POLLIN, deadline)) {
      continue;
    } else {
      break;
    }
  }
  ::close(fd);
  if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) {
    return make_error(authority + " sent no HTTP status line within " + std::to_string(timeout_seconds) + " s");
  }
  return std::atoi(head.c_str() + 9);
}

WebhookSender::WebhookSender(std::function<void(const std::string&, const std::string&)> done, double timeout_seconds,
                             size_t max_queued)
    : done_(std::move(done)), timeout_(timeout_seconds), max_queued_(max_queued), thread_([this] { run(); }) {}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

bool WebhookSender::send(std::string url, std::string body) {
  std::lock_guard lock(mutex_);
  const bool room = queue_.size() < max_queued_;
  if (!room) queue_.pop_front();
  queue_.push_back({std::move(url), std::move(body)});
  wake_.notify_one();
  return room;
}

void WebhookSender::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Result<int> posted = post_json(item.url, item.body, timeout_);
    if (done_) done_(item.url, posted ? std::to_string(*posted) : posted.error());
    lock.lock();
  }
}

}  // namespace tandem::monitor
