#include "gateway/app/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace tandem::gateway {

int RateLimiter::admit(const std::string& caller, double now_s) {
  if (!enabled()) return 0;
  const double capacity = static_cast<double>(per_minute_);
  const double rate = capacity / 60.0;  // tokens per second
  std::lock_guard lock(mutex_);
  // Full buckets of callers gone quiet carry no information: drop them now and then.
  if (now_s - last_sweep_s_ > 60) {
    last_sweep_s_ = now_s;
    std::erase_if(buckets_, [&](const auto& item) {
      return item.second.tokens + (now_s - item.second.updated_s) * rate >= capacity;
    });
  }
  auto [it, fresh] = buckets_.try_emplace(caller, Bucket{capacity, now_s});
  Bucket& b = it->second;
  if (!fresh) {
    b.tokens = std::min(capacity, b.tokens + std::max(0.0, now_s - b.updated_s) * rate);
    b.updated_s = now_s;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate)));
}

}  // namespace tandem::gateway
