#include "tools/bench/load_generator.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace tandem::bench {

LevelRun run_level(const LoadPlan& plan, int concurrency, int64_t requests,
                   const std::function<void(const LevelProgress&)>& on_progress) {
  LevelRun run;
  run.records.resize(static_cast<size_t>(requests));
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> errors{0};
  std::mutex mutex;
  std::condition_variable finished;
  int workers_left = static_cast<int>(std::min<int64_t>(concurrency, requests));

  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0, n = workers_left; w < n; ++w) {
    workers.emplace_back([&] {
      HttpConnection connection(plan.target);
      for (int64_t i = next++; i < requests; i = next++) {
        const std::string prompt = plan.prompts->prompt(plan.prompt_words, static_cast<size_t>(i));
        RequestRecord record = run_request(connection, plan.target, plan.spec, prompt);
        if (!record.ok) ++errors;
        run.records[static_cast<size_t>(i)] = std::move(record);
        ++done;
      }
      std::lock_guard lock(mutex);
      if (--workers_left == 0) finished.notify_all();
    });
  }
  const auto progress = [&] {
    return LevelProgress{done.load(), errors.load(), requests,
                         std::chrono::duration<double>(Clock::now() - start).count()};
  };
  {
    std::unique_lock lock(mutex);
    while (workers_left > 0) {
      finished.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      on_progress(progress());
      lock.lock();
    }
  }
  run.duration_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& worker : workers) worker.join();
  on_progress(progress());
  return run;
}

}  // namespace tandem::bench
