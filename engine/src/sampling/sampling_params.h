#pragma once
// A request's sampling options, in one struct, and their validation.
// Field semantics follow llama.cpp (temperature, top_k, top_p, min_p, repeat_penalty) and the
// OpenAI API (frequency_penalty, presence_penalty, logit_bias, seed, stop); where the two
// disagree the comment on the field says which one wins.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tandem {

namespace grammar {
class Grammar;
}

// The seed value that asks for a random seed (drawn from std::random_device); llama.cpp's
// LLAMA_DEFAULT_SEED has the same value, so clients that send it get what they expect.
inline constexpr uint64_t kRandomSeed = 0xFFFFFFFF;

inline constexpr float kMaxTemperature = 2.0f;      // OpenAI's upper bound
inline constexpr float kMaxOpenAiPenalty = 2.0f;    // |frequency_penalty|, |presence_penalty|
inline constexpr float kMaxLogitBias = 100.0f;      // |bias|, OpenAI's bound; -inf (a ban) also allowed
inline constexpr size_t kMaxStopStrings = 16;       // OpenAI allows 4; llama.cpp has no bound
inline constexpr size_t kMaxStopStringBytes = 512;  // bounds what StopMatcher holds back

struct SamplingParams {
  float temperature = 0.8f;  // <= 0 (validation: exactly 0) means greedy: argmax, ties -> lowest id
  int32_t top_k = 40;        // <= 0 disables
  float top_p = 0.95f;       // 1 disables
  float min_p = 0.05f;       // 0 disables; keeps tokens with p >= min_p * p_max

  // Penalties look at the last repeat_last_n tokens of the history (prompt + generated), as
  // llama.cpp does; OpenAI counts generated tokens only. 0 disables all three, -1 means the
  // whole history.
  float repeat_penalty = 1.0f;  // llama.cpp: divide positive logits, multiply negative ones; 1 disables
  int32_t repeat_last_n = 64;
  float frequency_penalty = 0.0f;  // OpenAI: logit -= count * frequency_penalty
  float presence_penalty = 0.0f;   // OpenAI: logit -= (count > 0) * presence_penalty

  // (token id, bias) added to the logit before anything else; -inf bans the token.
  // Several entries for one id add up.
  std::vector<std::pair<int32_t, float>> logit_bias;

  uint64_t seed = kRandomSeed;  // any other value gives reproducible output

  // Stop strings; the sampler ignores them (StopMatcher applies them to the decoded text). They
  // live here so that one struct carries all of a request's generation options.
  std::vector<std::string> stop;

  // Structured output (response_format, forced tool calls): when set, every sampled token keeps
  // the text a prefix of one of this grammar's sentences, end-of-generation is possible only once
  // the text is complete, and is forced then (grammar/grammar_matcher.h). The engine builds a
  // matcher per sequence; the grammar itself is immutable and shared.
  std::shared_ptr<const grammar::Grammar> grammar;
};

// Checks every field that does not depend on the model; the message names the field and its
// allowed range. Token ids in logit_bias need the vocabulary size: see validate_logit_bias.
Status validate(const SamplingParams& params);

// Checks that every logit_bias id is in [0, n_vocab) and that at least one token stays unbanned.
Status validate_logit_bias(const SamplingParams& params, int32_t n_vocab);

}  // namespace tandem
