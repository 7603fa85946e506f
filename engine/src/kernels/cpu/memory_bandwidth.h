#pragma once
// Measured memory read bandwidth, the ceiling of batch-1 generation: every token reads every
// weight once, so tokens/s can never exceed bandwidth / weight bytes.

#include <cstddef>

#include "kernels/cpu/thread_pool.h"

namespace tandem::cpu {

// Bytes per second read from a buffer of `bytes` (far larger than the caches) by all of the
// pool's threads, each streaming its own part; the best of `repeats` passes.
double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t{1} << 30, int repeats = 5);

}  // namespace tandem::cpu
