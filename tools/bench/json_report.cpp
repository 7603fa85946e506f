#include "tools/bench/json_report.h"

#include <cmath>

namespace tandem::bench {
namespace {

// Three decimals: microseconds for latencies, and no float noise in the file.
double rounded(double value) { return std::round(value * 1000.0) / 1000.0; }

nlohmann::ordered_json percentiles_json(const std::optional<Percentiles>& p) {
  if (!p) return {{"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}};
  return {{"p50", rounded(p->p50)}, {"p95", rounded(p->p95)}, {"p99", rounded(p->p99)}};
}

}  // namespace

nlohmann::ordered_json level_json(const LevelResult& level) {
  nlohmann::ordered_json by_kind = nlohmann::ordered_json::object();
  for (const auto& [kind, count] : level.errors_by_kind) by_kind[kind] = count;
  return {{"concurrency", level.concurrency},
          {"requests", level.requests},
          {"errors", level.errors},
          {"errors_by_kind", by_kind},
          {"req_per_s", rounded(level.req_per_s)},
          {"output_tokens_per_s", rounded(level.output_tokens_per_s)},
          {"ttft_ms", percentiles_json(level.ttft_ms)},
          {"itl_ms", percentiles_json(level.itl_ms)},
          {"e2e_ms", percentiles_json(level.e2e_ms)},
          {"goodput", rounded(level.goodput)}};
}

nlohmann::ordered_json report_json(const std::vector<LevelResult>& levels) {
  nlohmann::ordered_json out = {{"levels", nlohmann::ordered_json::array()}};
  for (const LevelResult& level : levels) out["levels"].push_back(level_json(level));
  return out;
}

}  // namespace tandem::bench
