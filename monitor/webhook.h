#pragma once
// POSTs alerts as JSON to webhook URLs from its own thread, so a slow or dead receiver never
// delays the monitor's loop. Plain HTTP/1.1 over a blocking socket with a deadline; the queue is
// bounded (the oldest waiting alert is dropped past it, and logged as such by the caller's result).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"

namespace tandem::monitor {

// One POST; the status code, or what failed ("connect to 127.0.0.1:9000: Connection refused").
Result<int> post_json(const std::string& url, const std::string& body, double timeout_seconds);

class WebhookSender {
 public:
  // `done(url, outcome)` runs on the sender's thread after each POST ("200", or the error).
  explicit WebhookSender(std::function<void(const std::string&, const std::string&)> done = nullptr,
                         double timeout_seconds = 5, size_t max_queued = 64);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // False when the queue was full (the alert is dropped).
  bool send(std::string url, std::string body);

 private:
  void run();
  struct Item {
    std::string url, body;
  };
  std::function<void(const std::string&, const std::string&)> done_;
  const double timeout_;
  const size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tandem::monitor
