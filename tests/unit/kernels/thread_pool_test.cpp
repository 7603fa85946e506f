#include "kernels/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace tandem::cpu {
namespace {

TEST(ThreadPool, EveryChunkRunsOnceAcrossManyJobs) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    // Many small jobs back to back: the decode loop's pattern, where a late worker must never
    // run a chunk of the wrong job.
    for (int job = 0; job < 2000; ++job) {
      const int64_t n = 1 + job % 37;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> bad_thread{0};
      pool.for_each_chunk(n, [&](int64_t chunk, int thread) {
        hits[static_cast<size_t>(chunk)].fetch_add(1);
        if (thread < 0 || thread >= threads) bad_thread.fetch_add(1);
      });
      for (int64_t c = 0; c < n; ++c) ASSERT_EQ(hits[static_cast<size_t>(c)].load(), 1) << threads << " " << job;
      ASSERT_EQ(bad_thread.load(), 0);
    }
  }
}

TEST(ThreadPool, ParallelForCoversTheRangeInGrains) {
  ThreadPool pool(2);
  std::vector<int> seen(1000, 0);
  pool.parallel_for(1000, 64, [&](int64_t begin, int64_t end) {
    EXPECT_EQ(begin % 64, 0);
    EXPECT_TRUE(end - begin == 64 || end == 1000);
    for (int64_t i = begin; i < end; ++i) seen[static_cast<size_t>(i)] += 1;
  });
  for (int v : seen) EXPECT_EQ(v, 1);
  pool.parallel_for(0, 8, [&](int64_t, int64_t) { ADD_FAILURE(); });
}

}  // namespace
}  // namespace tandem::cpu
