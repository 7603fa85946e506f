#include "gateway/links/rtt_stats.h"

#include <algorithm>
#include <cmath>

namespace tandem::gateway {

void RttStats::add(double ms) {
  last_ = ms;
  ewma_ = ewma_ ? weight_ * ms + (1.0 - weight_) * *ewma_ : ms;
  if (samples_.size() < window_) {
    samples_.push_back(ms);
  } else {
    samples_[next_] = ms;
    next_ = (next_ + 1) % window_;
  }
}

std::optional<double> RttStats::percentile(double p) const {
  if (samples_.empty()) return std::nullopt;
  std::vector<double> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[index];
}

}  // namespace tandem::gateway
