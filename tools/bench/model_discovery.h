#pragma once
// The model to ask for when --model is not given: the first id of GET /v1/models, as vLLM's
// `bench serve` does.

#include <string>

#include "core/result.h"
#include "tools/bench/target_url.h"

namespace tandem::bench {

Result<std::string> first_model_id(const TargetUrl& target, const std::string& api_key, double timeout_s);

}  // namespace tandem::bench
