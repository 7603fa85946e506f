#pragma once
// Runs one concurrency level: `concurrency` client threads, each with its own kept-alive
// connection, take the next of `requests` requests until none is left (a closed loop, as vLLM's
// `bench serve --max-concurrency` does), so that at most `concurrency` requests are in flight.

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "tools/bench/prompt_source.h"
#include "tools/bench/request_runner.h"

namespace tandem::bench {

struct LevelProgress {
  int64_t done = 0;
  int64_t errors = 0;
  int64_t total = 0;
  double elapsed_s = 0;
};

struct LevelRun {
  std::vector<RequestRecord> records;  // in request order
  double duration_s = 0;               // from the first request sent to the last answered
};

struct LoadPlan {
  TargetUrl target;
  RequestSpec spec;
  const PromptSource* prompts = nullptr;
  int prompt_words = 32;
};

// Calls `on_progress` from the calling thread about ten times a second and once at the end.
LevelRun run_level(const LoadPlan& plan, int concurrency, int64_t requests,
                   const std::function<void(const LevelProgress&)>& on_progress);

}  // namespace tandem::bench
