#pragma once
// A request rate limit per caller (an API key, or a client address when the gateway is open): a
// token bucket holding up to `per_minute` requests that refills at per_minute / 60 per second.
// Thread-safe. Time comes in as an argument so that tests need no clock.

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tandem::gateway {

class RateLimiter {
 public:
  explicit RateLimiter(int64_t per_minute) : per_minute_(per_minute) {}

  bool enabled() const { return per_minute_ > 0; }
  // 0 when the request may go now (and is counted); otherwise the seconds to wait (>= 1).
  int admit(const std::string& caller, double now_s);

 private:
  struct Bucket {
    double tokens = 0;
    double updated_s = 0;
  };
  int64_t per_minute_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  double last_sweep_s_ = 0;
};

}  // namespace tandem::gateway
