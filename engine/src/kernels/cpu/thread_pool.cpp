#include "kernels/cpu/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TANDEM_PAUSE() _mm_pause()
#else
#define TANDEM_PAUSE() ((void)0)
#endif

namespace tandem::cpu {
namespace {

// Polls before a worker goes to sleep (tens of microseconds): long enough to cover the gap
// between two matrix products of one token, short enough not to burn a core between tokens.
constexpr int kSpinsBeforeSleep = 1 << 12;

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  wake_.fetch_add(1);
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::dispatch(Task task, void* ctx, int64_t n_chunks) {
  // Sequentially consistent, as are the worker's loads in work(): a worker that reads any field
  // written below must then see the closed word (or a later one), so its claim fails and it
  // never runs a chunk of one job with the task of another.
  const uint64_t job = static_cast<uint64_t>(++job_) << 32;
  claim_.store(job | kClosed);
  task_.store(task);
  ctx_.store(ctx);
  n_chunks_.store(n_chunks);
  done_.store(0);
  claim_.store(job);
  // seq_cst pair with the worker: either it sees the new wake_ before sleeping, or we see it
  // counted in sleepers_ and wake it.
  wake_.fetch_add(1);
  if (sleepers_.load() > 0) wake_.notify_all();
  work(0);
  int spins = 0;
  while (done_.load(std::memory_order_acquire) != n_chunks) {
    if (++spins < kSpinsBeforeSleep) {
      TANDEM_PAUSE();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::work(int thread) {
  uint64_t word = claim_.load();
  for (;;) {
    const uint64_t chunk = word & kChunkMask;
    // Fields read before the claim: valid only if the claim succeeds on this very word.
    const Task task = task_.load();
    void* ctx = ctx_.load();
    const int64_t n_chunks = n_chunks_.load();
    if (chunk == kClosed || static_cast<int64_t>(chunk) >= n_chunks) return;
    if (!claim_.compare_exchange_weak(word, word + 1)) continue;  // word now holds the current one
    task(ctx, static_cast<int64_t>(chunk), thread);
    done_.fetch_add(1, std::memory_order_acq_rel);
    word = claim_.load();
  }
}

void ThreadPool::worker_loop(int thread) {
  uint32_t seen = 0;  // wake_'s value at construction: no job can have been missed
  for (;;) {
    int spins = 0;
    uint32_t now = wake_.load(std::memory_order_acquire);
    while (now == seen) {
      if (++spins < kSpinsBeforeSleep) {
        TANDEM_PAUSE();
      } else {
        sleepers_.fetch_add(1);
        wake_.wait(seen);
        sleepers_.fetch_sub(1);
        spins = 0;
      }
      now = wake_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stop_.load()) return;
    work(thread);
  }
}

}  // namespace tandem::cpu
