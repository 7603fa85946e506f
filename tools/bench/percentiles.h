#pragma once
// Percentiles of a sample by linear interpolation between closest ranks (NumPy's default, as
// vLLM's `bench serve` reports them), so p50 <= p95 <= p99 always holds.

#include <optional>
#include <vector>

namespace tandem::bench {

struct Percentiles {
  double p50 = 0;
  double p95 = 0;
  double p99 = 0;
};

// `q` in [0, 100]; `sorted` ascending and not empty.
double percentile_of_sorted(const std::vector<double>& sorted, double q);

// nullopt for an empty sample (nothing was measured, e.g. inter-token latency without streaming).
std::optional<Percentiles> summarize(std::vector<double> values);

}  // namespace tandem::bench
