#include "sampling/stop_matcher.h"

#include <algorithm>
#include <utility>

#include "core/check.h"

namespace tandem {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  for (const auto& stop : stops_) TANDEM_CHECK_MSG(!stop.empty(), "empty stop string");
}

StopMatcher::Step StopMatcher::push(std::string_view new_text) {
  if (stopped()) return Step{"", true};
  const size_t old_size = held_.size();
  held_.append(new_text);

  // A stop that fit entirely inside the old held_ would have been found by the previous push,
  // so each search starts where a stop could first reach into the new text.
  size_t best_end = std::string::npos;
  size_t best = kNone;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const std::string& stop = stops_[i];
    const size_t from = old_size >= stop.size() ? old_size - stop.size() + 1 : 0;
    const size_t pos = held_.find(stop, from);
    if (pos == std::string::npos) continue;
    const size_t end = pos + stop.size();
    if (end < best_end || (end == best_end && stop.size() > stops_[best].size())) {
      best_end = end;
      best = i;
    }
  }
  if (best != kNone) {
    matched_ = best;
    Step step{held_.substr(0, best_end - stops_[best].size()), true};
    held_.clear();
    return step;
  }

  const size_t keep = partial_match_length();
  Step step{held_.substr(0, held_.size() - keep), false};
  held_.erase(0, held_.size() - keep);
  return step;
}

std::string StopMatcher::flush() {
  if (stopped()) return "";
  return std::exchange(held_, std::string());
}

std::string_view StopMatcher::matched_stop() const {
  return stopped() ? std::string_view(stops_[matched_]) : std::string_view();
}

size_t StopMatcher::partial_match_length() const {
  const std::string_view held(held_);
  size_t longest = 0;
  for (const auto& stop : stops_) {
    // Candidates longer than `longest` only; a full-length match would have been a stop.
    for (size_t n = std::min(stop.size() - 1, held.size()); n > longest; --n) {
      if (held.substr(held.size() - n) == std::string_view(stop).substr(0, n)) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}

}  // namespace tandem
