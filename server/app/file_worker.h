#pragma once
// One thread for the file-system work that an HTTP I/O thread must never do, because a slow disk,
// a FIFO or a hung network mount would stop every connection with it: resolving and vetting a
// model file that /admin/model/load names. Tasks run one at a time, in the order posted.
//
// Lifetime: the destructor runs the tasks already posted, then joins. Declare it after what its
// tasks use (the scheduler) and before the HTTP server, so it is destroyed between them.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace tandem::server {

class FileWorker {
 public:
  FileWorker();
  ~FileWorker();
  FileWorker(const FileWorker&) = delete;
  FileWorker& operator=(const FileWorker&) = delete;

  // Thread-safe. A task must not throw (its exception is logged and dropped).
  void post(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tandem::server
