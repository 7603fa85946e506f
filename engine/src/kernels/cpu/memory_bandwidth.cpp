#include "kernels/cpu/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace tandem::cpu {
namespace {

// 2 MiB per claimed chunk: few claims, and each a long sequential stream.
constexpr int64_t kChunkWords = int64_t{1} << 18;

// Sums 64-bit words with several independent chains so that the loop is limited by memory,
// not by add latency; the compiler vectorises it.
uint64_t read_words(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    s0 ^= p[i];
    s1 ^= p[i + 1];
    s2 ^= p[i + 2];
    s3 ^= p[i + 3];
    s4 ^= p[i + 4];
    s5 ^= p[i + 5];
    s6 ^= p[i + 6];
    s7 ^= p[i + 7];
  }
  return s0 ^ s1 ^ s2 ^ s3 ^ s4 ^ s5 ^ s6 ^ s7;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int repeats) {
  const size_t n_words = bytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[n_words]);
  // Each thread touches its own part first, so pages land where that thread reads them.
  pool.parallel_for(static_cast<int64_t>(n_words), kChunkWords, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) buffer[static_cast<size_t>(i)] = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  });
  std::vector<uint64_t> sinks(static_cast<size_t>(pool.size()) * 8);
  double best = 0.0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for_indexed(static_cast<int64_t>(n_words), kChunkWords, [&](int64_t begin, int64_t end, int thread) {
      sinks[static_cast<size_t>(thread) * 8] ^= read_words(buffer.get() + begin, static_cast<size_t>(end - begin));
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(n_words * sizeof(uint64_t)) / seconds);
  }
  // Keep the sums observable so the reads are not optimised away.
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep ^ s;
  (void)keep;
  return best;
}

}  // namespace tandem::cpu
