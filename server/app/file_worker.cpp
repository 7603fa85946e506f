#include "app/file_worker.h"

#include <exception>
#include <string>

#include "log/log.h"

namespace tandem::server {

FileWorker::FileWorker() : thread_([this] { run(); }) {}

FileWorker::~FileWorker() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void FileWorker::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void FileWorker::run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stop_ and nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      log::error(std::string("file task threw: ") + e.what());
    } catch (...) {
      log::error("file task threw a non-exception");
    }
  }
}

}  // namespace tandem::server
