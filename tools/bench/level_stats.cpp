#include "tools/bench/level_stats.h"

#include <numeric>

namespace tandem::bench {

bool within_slo(const RequestRecord& record, const Slo& slo) {
  if (!record.ok) return false;
  if (slo.ttft_ms && record.ttft_ms > *slo.ttft_ms) return false;
  if (slo.e2e_ms && record.e2e_ms > *slo.e2e_ms) return false;
  if (slo.itl_ms && !record.itl_ms.empty()) {
    const double mean = std::accumulate(record.itl_ms.begin(), record.itl_ms.end(), 0.0) /
                        static_cast<double>(record.itl_ms.size());
    if (mean > *slo.itl_ms) return false;
  }
  return true;
}

LevelResult summarize_level(int concurrency, const std::vector<RequestRecord>& records, double duration_s,
                            const Slo& slo) {
  LevelResult level;
  level.concurrency = concurrency;
  level.requests = static_cast<int64_t>(records.size());
  level.duration_s = duration_s;
  std::vector<double> ttft, itl, e2e;
  int64_t good = 0;
  for (const RequestRecord& r : records) {
    if (!r.ok) {
      ++level.errors;
      ++level.errors_by_kind[r.error_kind];
      level.first_error.emplace(r.error_kind, r.error_detail);
      continue;
    }
    ++level.successes;
    level.output_tokens += r.output_tokens;
    ttft.push_back(r.ttft_ms);
    e2e.push_back(r.e2e_ms);
    itl.insert(itl.end(), r.itl_ms.begin(), r.itl_ms.end());
    if (within_slo(r, slo)) ++good;
  }
  if (duration_s > 0) {
    level.req_per_s = static_cast<double>(level.successes) / duration_s;
    level.output_tokens_per_s = static_cast<double>(level.output_tokens) / duration_s;
  }
  level.ttft_ms = summarize(std::move(ttft));
  level.itl_ms = summarize(std::move(itl));
  level.e2e_ms = summarize(std::move(e2e));
  level.goodput = level.requests ? static_cast<double>(good) / static_cast<double>(level.requests) : 0;
  return level;
}

}  // namespace tandem::bench
