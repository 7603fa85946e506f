#include "sampling/sampling_params.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>

namespace tandem {
namespace {

std::string format_float(float value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", static_cast<double>(value));
  return buffer;
}

// False for NaN, so that NaN is rejected along with out-of-range values.
bool in_range(float value, float lo, float hi) { return lo <= value && value <= hi; }

Error range_error(const char* field, float value, const char* range) {
  return make_error(std::string(field) + " must be in " + range + ", got " + format_float(value));
}

}  // namespace

Status validate(const SamplingParams& params) {
  if (!in_range(params.temperature, 0.0f, kMaxTemperature)) {
    return range_error("temperature", params.temperature, "[0, 2] (0 means greedy)");
  }
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f)) {
    return range_error("top_p", params.top_p, "(0, 1] (1 disables it)");
  }
  if (!in_range(params.min_p, 0.0f, 1.0f)) {
    return range_error("min_p", params.min_p, "[0, 1] (0 disables it)");
  }
  if (!(params.repeat_penalty > 0.0f && std::isfinite(params.repeat_penalty))) {
    return make_error("repeat_penalty must be a finite number > 0 (1 disables it), got " +
                      format_float(params.repeat_penalty));
  }
  if (params.repeat_last_n < -1) {
    return make_error("repeat_last_n must be >= -1 (-1: the whole history, 0: no penalties), got " +
                      std::to_string(params.repeat_last_n));
  }
  if (!in_range(params.frequency_penalty, -kMaxOpenAiPenalty, kMaxOpenAiPenalty)) {
    return range_error("frequency_penalty", params.frequency_penalty, "[-2, 2]");
  }
  if (!in_range(params.presence_penalty, -kMaxOpenAiPenalty, kMaxOpenAiPenalty)) {
    return range_error("presence_penalty", params.presence_penalty, "[-2, 2]");
  }
  for (const auto& [id, bias] : params.logit_bias) {
    const bool ban = bias == -std::numeric_limits<float>::infinity();
    if (!ban && !in_range(bias, -kMaxLogitBias, kMaxLogitBias)) {
      return make_error("logit_bias for token " + std::to_string(id) +
                        " must be in [-100, 100] or -inf (a ban), got " + format_float(bias));
    }
  }
  if (params.stop.size() > kMaxStopStrings) {
    return make_error("stop accepts at most " + std::to_string(kMaxStopStrings) + " strings, got " +
                      std::to_string(params.stop.size()));
  }
  for (size_t i = 0; i < params.stop.size(); ++i) {
    if (params.stop[i].empty()) {
      return make_error("stop[" + std::to_string(i) + "] is empty; remove it or give some text");
    }
    if (params.stop[i].size() > kMaxStopStringBytes) {
      return make_error("stop[" + std::to_string(i) + "] is " + std::to_string(params.stop[i].size()) +
                        " bytes long; at most " + std::to_string(kMaxStopStringBytes) + " are allowed");
    }
  }
  return ok_status();
}

Status validate_logit_bias(const SamplingParams& params, int32_t n_vocab) {
  std::set<int32_t> banned;
  for (const auto& [id, bias] : params.logit_bias) {
    if (id < 0 || id >= n_vocab) {
      return make_error("logit_bias names token " + std::to_string(id) +
                        ", outside this model's vocabulary [0, " + std::to_string(n_vocab) + ")");
    }
    if (bias == -std::numeric_limits<float>::infinity()) banned.insert(id);
  }
  if (n_vocab > 0 && banned.size() >= static_cast<size_t>(n_vocab)) {
    return make_error("logit_bias bans every token of the vocabulary; leave at least one allowed");
  }
  return ok_status();
}

}  // namespace tandem
