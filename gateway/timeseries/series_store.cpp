#include "gateway/timeseries/series_store.h"

namespace tandem::gateway {

std::vector<double> Ring::ordered() const {
  std::vector<double> out;
  out.reserve(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) out.push_back(values_[(next_ + i) % values_.size()]);
  return out;
}

void SeriesStore::add(int64_t unix_seconds, const std::map<std::string, double>& values) {
  std::lock_guard lock(mutex_);
  if (last_second_ != 0 && unix_seconds <= last_second_) unix_seconds = last_second_ + 1;  // the clock stepped back
  // Seconds skipped (a slow tick, a suspended host) are absent, up to a whole ring.
  const int64_t gap = last_second_ == 0 ? 0 : std::min<int64_t>(unix_seconds - last_second_ - 1,
                                                                 static_cast<int64_t>(layout_.seconds));
  for (const auto& [name, value] : values) {
    if (series_.find(name) == series_.end()) series_.emplace(name, Series(layout_));
  }
  const int64_t minute = unix_seconds / 60;
  for (auto& [name, s] : series_) {
    for (int64_t i = 0; i < gap; ++i) s.seconds.push(std::nan(""));
    if (last_minute_ != 0 && minute != last_minute_) {
      // Close the minute(s) that ended: their mean, then absent ones for any minute skipped.
      s.minutes.push(s.minute_count > 0 ? s.minute_sum / s.minute_count : std::nan(""));
      for (int64_t m = last_minute_ + 1; m < minute && m - last_minute_ <= static_cast<int64_t>(layout_.minutes); ++m) {
        s.minutes.push(std::nan(""));
      }
      s.minute_sum = 0;
      s.minute_count = 0;
    }
    const auto it = values.find(name);
    const double v = it == values.end() ? std::nan("") : it->second;
    s.seconds.push(v);
    if (std::isfinite(v)) {
      s.minute_sum += v;
      ++s.minute_count;
    }
  }
  if (last_minute_ != 0 && minute != last_minute_) {
    minutes_pushed_ += static_cast<size_t>(std::min<int64_t>(minute - last_minute_, static_cast<int64_t>(layout_.minutes)));
  }
  seconds_pushed_ += static_cast<size_t>(gap) + 1;
  last_minute_ = minute;
  last_second_ = unix_seconds;
}

nlohmann::json SeriesStore::to_json(bool minutes, std::optional<int64_t> since) const {
  std::lock_guard lock(mutex_);
  const int64_t step = minutes ? 60 : 1;
  const int64_t end = minutes ? last_minute_ * 60 - 60 : last_second_;
  // Only the part of the ring that has been filled, so a young gateway sends little; with `since`,
  // only the points after it (none when it is at or past the end).
  size_t wanted = minutes ? minutes_pushed_ : seconds_pushed_;
  if (since) wanted = std::min<size_t>(wanted, *since >= end ? 0 : static_cast<size_t>((end - *since) / step));
  nlohmann::json series = nlohmann::json::object();
  for (const auto& [name, s] : series_) {
    nlohmann::json points = nlohmann::json::array();
    const std::vector<double> all = minutes ? s.minutes.ordered() : s.seconds.ordered();
    const size_t filled = std::min(all.size(), wanted);
    for (size_t i = all.size() - filled; i < all.size(); ++i) {
      points.push_back(std::isfinite(all[i]) ? nlohmann::json(std::round(all[i] * 1000.0) / 1000.0) : nlohmann::json());
    }
    series[name] = std::move(points);
  }
  return {{"step", step}, {"end", end}, {"series", std::move(series)}};
}

}  // namespace tandem::gateway
