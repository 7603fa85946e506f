#pragma once
// Round-trip times of one link's probes: the last, an exponentially weighted moving average, and
// p50/p95 over a window of recent probes. Not thread-safe: LinkSet guards it.

#include <cstddef>
#include <optional>
#include <vector>

namespace tandem::gateway {

class RttStats {
 public:
  explicit RttStats(size_t window = 64, double ewma_weight = 0.3) : window_(window), weight_(ewma_weight) {}

  void add(double ms);
  std::optional<double> last() const { return last_; }
  std::optional<double> ewma() const { return ewma_; }
  // Nearest-rank percentile (0..100) over the window; empty before the first probe.
  std::optional<double> percentile(double p) const;

 private:
  size_t window_;
  double weight_;
  std::vector<double> samples_;  // a ring of the last `window_` values
  size_t next_ = 0;
  std::optional<double> last_;
  std::optional<double> ewma_;
};

}  // namespace tandem::gateway
