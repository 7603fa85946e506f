#pragma once
// The dashboard's history: named series sampled once a second, kept in two rings per series, 1 s
// resolution for the last 15 minutes and 1 min resolution (the mean of that minute's seconds) for
// the last 24 hours. Every series shares one clock, so a series that appears late reads as absent
// (null) before it appeared, and one that stops reporting reads null from then on.
// Thread-safe: one mutex; the sampler adds, HTTP handlers read.

#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tandem::gateway {

// A fixed-size ring of values; NaN = absent.
class Ring {
 public:
  explicit Ring(size_t capacity) : values_(capacity, std::nan("")) {}
  void push(double v) {
    values_[next_] = v;
    next_ = (next_ + 1) % values_.size();
  }
  // Oldest first.
  std::vector<double> ordered() const;
  size_t capacity() const { return values_.size(); }

 private:
  std::vector<double> values_;
  size_t next_ = 0;
};

struct SeriesLayout {
  size_t seconds = 15 * 60;  // 1 s points
  size_t minutes = 24 * 60;  // 1 min points
};

class SeriesStore {
 public:
  explicit SeriesStore(SeriesLayout layout = {}) : layout_(layout) {}

  // One second's values, taken at `unix_seconds`; names not given are absent for that second.
  void add(int64_t unix_seconds, const std::map<std::string, double>& values);

  // {"step": 1 or 60, "end": unix seconds of the newest point, "series": {name: [v or null, ...]}},
  // oldest first; `minutes` picks the 24 h rings. With `since` (unix seconds, a previous answer's
  // "end"), only the points after it: a dashboard that polls fetches the window once, then what
  // is new. Every series has the same number of points, the last one at "end".
  nlohmann::json to_json(bool minutes, std::optional<int64_t> since = std::nullopt) const;

 private:
  struct Series {
    Ring seconds, minutes;
    double minute_sum = 0;
    int minute_count = 0;
    Series(const SeriesLayout& l) : seconds(l.seconds), minutes(l.minutes) {}
  };
  SeriesLayout layout_;
  mutable std::mutex mutex_;
  std::map<std::string, Series> series_;
  int64_t last_second_ = 0;  // 0 = nothing added yet
  int64_t last_minute_ = 0;  // the minute the minute rings last closed
  size_t seconds_pushed_ = 0;  // points pushed so far (capped by the rings when read)
  size_t minutes_pushed_ = 0;
};

}  // namespace tandem::gateway
