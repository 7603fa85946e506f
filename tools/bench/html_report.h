#pragma once
// The --html report: one self-contained page (Chart.js inlined, no network) with a latency-vs-load
// chart, a throughput chart and the table of every level. Chart.js comes from Debian's
// libjs-chart.js (/usr/share/javascript/chart.js/), or from the file TANDEM_CHARTJS names.

#include <string>
#include <vector>

#include "core/result.h"
#include "tools/bench/level_stats.h"

namespace tandem::bench {

struct ReportMeta {
  std::string url;
  std::string model;
  bool stream = false;
  int max_tokens = 0;
  int prompt_tokens = 0;
  int64_t requests = 0;  // per level
  std::string started;   // UTC, ISO 8601
};

// The path of the Chart.js UMD build to inline; the error names where it looked and the fix.
Result<std::string> find_chart_js();

// The page, with `chart_js` (the library's source) inlined.
std::string render_html(const std::vector<LevelResult>& levels, const ReportMeta& meta, const std::string& chart_js);

// Text made safe inside HTML (exposed for the unit tests).
std::string html_escape(const std::string& text);
// JSON made safe inside a <script> element: no "<" can close it.
std::string script_safe_json(const std::string& json_text);

}  // namespace tandem::bench
