#pragma once
// The progress line on stderr while a level runs:
//   c=16  [##########..........]  48/96  errors 0  12.3 s
// On a terminal it is redrawn in place; otherwise (a log file, CI) only the final line of each
// level is written, so logs do not fill with redraws.

#include <cstdio>
#include <string>

#include "tools/bench/load_generator.h"

namespace tandem::bench {

// The line without control characters (exposed for the unit tests).
std::string progress_line(int concurrency, const LevelProgress& progress, int width = 30);

class ProgressBar {
 public:
  ProgressBar(std::FILE* out, bool redraw) : out_(out), redraw_(redraw) {}
  void update(int concurrency, const LevelProgress& progress);
  // Ends the level's line.
  void finish(int concurrency, const LevelProgress& progress);

 private:
  std::FILE* out_;
  bool redraw_;
};

}  // namespace tandem::bench
