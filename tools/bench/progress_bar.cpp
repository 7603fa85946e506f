#include "tools/bench/progress_bar.h"

#include <algorithm>

namespace tandem::bench {

std::string progress_line(int concurrency, const LevelProgress& progress, int width) {
  const double share = progress.total > 0 ? static_cast<double>(progress.done) / static_cast<double>(progress.total) : 1;
  const int filled = std::clamp(static_cast<int>(share * width), 0, width);
  char tail[128];
  std::snprintf(tail, sizeof tail, "]  %lld/%lld  errors %lld  %.1f s", static_cast<long long>(progress.done),
                static_cast<long long>(progress.total), static_cast<long long>(progress.errors), progress.elapsed_s);
  return "c=" + std::to_string(concurrency) + "  [" + std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.') + tail;
}

void ProgressBar::update(int concurrency, const LevelProgress& progress) {
  if (!redraw_) return;
  // \r back to the line's start, \x1b[K clears what a longer previous line left.
  std::fprintf(out_, "\r%s\x1b[K", progress_line(concurrency, progress).c_str());
  std::fflush(out_);
}

void ProgressBar::finish(int concurrency, const LevelProgress& progress) {
  std::fprintf(out_, redraw_ ? "\r%s\x1b[K\n" : "%s\n", progress_line(concurrency, progress).c_str());
  std::fflush(out_);
}

}  // namespace tandem::bench
