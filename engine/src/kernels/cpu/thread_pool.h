#pragma once
// A fixed team of threads for the decode loop. The forward pass hands it a few hundred small
// jobs per token (one per matrix product), so a job must cost microseconds, not a thread start:
// workers are created once, wait for work by spinning briefly and then sleeping on a futex
// (std::atomic::wait), and the caller works on every job too.
//
// A job is a number of chunks that threads claim one at a time from a shared counter. The caller
// waits only for chunks that were claimed, never for a thread that has not woken up yet, so a
// worker descheduled by a busy machine delays nothing: the others take its share.
//
// Not reentrant: one job at a time, submitted from one thread (the pool's owner).

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace tandem::cpu {

class ThreadPool {
 public:
  // n_threads counts the caller; 0 picks std::thread::hardware_concurrency().
  explicit ThreadPool(int n_threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(chunk, thread_index) for every chunk in [0, n_chunks), spread over the threads
  // (thread_index < size(), the caller is 0; use it to pick per-thread scratch), and returns
  // when all calls have returned. fn must not throw.
  template <typename Fn>
  void for_each_chunk(int64_t n_chunks, Fn&& fn) {
    if (n_chunks <= 0) return;
    if (n_threads_ == 1 || n_chunks == 1) {
      for (int64_t c = 0; c < n_chunks; ++c) fn(c, 0);
      return;
    }
    auto trampoline = [](void* ctx, int64_t chunk, int thread) { (*static_cast<Fn*>(ctx))(chunk, thread); };
    dispatch(trampoline, static_cast<void*>(&fn), n_chunks);
  }

  // fn(begin, end) over [0, n) in ranges of `grain` (the last may be shorter).
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
    parallel_for_indexed(n, grain, [&](int64_t begin, int64_t end, int) { fn(begin, end); });
  }

  // fn(begin, end, thread_index) over [0, n) in ranges of `grain`.
  template <typename Fn>
  void parallel_for_indexed(int64_t n, int64_t grain, Fn&& fn) {
    if (grain < 1) grain = 1;
    for_each_chunk((n + grain - 1) / grain, [&](int64_t chunk, int thread) {
      const int64_t begin = chunk * grain;
      fn(begin, begin + grain < n ? begin + grain : n, thread);
    });
  }

 private:
  using Task = void (*)(void* ctx, int64_t chunk, int thread);
  // The claim word: job number in the high 32 bits, next unclaimed chunk in the low 32.
  static constexpr uint64_t kChunkMask = 0xFFFFFFFFull;
  static constexpr uint64_t kClosed = kChunkMask;  // no chunk to claim while a job is set up

  void dispatch(Task task, void* ctx, int64_t n_chunks);
  // Claims and runs chunks of the current job until none is left.
  void work(int thread);
  void worker_loop(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::atomic<Task> task_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int64_t> n_chunks_{0};
  uint32_t job_ = 0;  // owner only
  alignas(64) std::atomic<uint64_t> claim_{kClosed};
  alignas(64) std::atomic<int64_t> done_{0};       // chunks of the current job finished
  alignas(64) std::atomic<uint32_t> wake_{0};      // bumped per job; sleeping workers wait on it
  alignas(64) std::atomic<int> sleepers_{0};       // workers blocked in wake_.wait
  std::atomic<bool> stop_{false};
};

}  // namespace tandem::cpu
