#pragma once
// The --json report, in the shape issue 15 fixes:
//   {"levels": [{"concurrency", "requests", "errors", "req_per_s", "output_tokens_per_s",
//                "ttft_ms": {"p50", "p95", "p99"}, "itl_ms": {...}, "e2e_ms": {...}, "goodput"}]}
// plus "errors_by_kind" on each level ({"connect": 3, "http_503": 1}). A latency nothing measured
// (ITL without --stream, or a level whose every request failed) has null percentiles.

#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/level_stats.h"

namespace tandem::bench {

nlohmann::ordered_json level_json(const LevelResult& level);
nlohmann::ordered_json report_json(const std::vector<LevelResult>& levels);

}  // namespace tandem::bench
