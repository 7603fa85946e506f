#include "tools/bench/percentiles.h"

#include <algorithm>
#include <cmath>

namespace tandem::bench {

double percentile_of_sorted(const std::vector<double>& sorted, double q) {
  const double rank = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

std::optional<Percentiles> summarize(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  return Percentiles{percentile_of_sorted(values, 50), percentile_of_sorted(values, 95),
                     percentile_of_sorted(values, 99)};
}

}  // namespace tandem::bench
