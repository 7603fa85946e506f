#pragma once
// What one concurrency level measured, summarized: counts, rates, percentiles and goodput.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/percentiles.h"
#include "tools/bench/request_runner.h"

namespace tandem::bench {

// Service-level objectives in milliseconds; an absent one is not checked.
struct Slo {
  std::optional<double> ttft_ms;
  std::optional<double> itl_ms;  // against the request's mean gap between tokens
  std::optional<double> e2e_ms;
};

struct LevelResult {
  int concurrency = 0;
  int64_t requests = 0;  // sent; requests == successes + errors
  int64_t successes = 0;
  int64_t errors = 0;
  std::map<std::string, int64_t> errors_by_kind;
  std::map<std::string, std::string> first_error;  // per kind, the first error's detail (for people)
  double duration_s = 0;
  double req_per_s = 0;             // successful requests per second of the level's wall time
  double output_tokens_per_s = 0;   // output tokens of successful requests per second
  int64_t output_tokens = 0;
  std::optional<Percentiles> ttft_ms;  // over successful requests
  std::optional<Percentiles> itl_ms;   // over every gap of every successful streamed request
  std::optional<Percentiles> e2e_ms;
  double goodput = 0;  // share of all requests that succeeded within every SLO, 0..1
};

// True when `record` succeeded within every objective of `slo`.
bool within_slo(const RequestRecord& record, const Slo& slo);

LevelResult summarize_level(int concurrency, const std::vector<RequestRecord>& records, double duration_s,
                            const Slo& slo);

}  // namespace tandem::bench
