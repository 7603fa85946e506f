#pragma once
// Turns one row of logits into one token id. Value in, value out: the sampler knows nothing of the
// model, the tokenizer or the request beyond its SamplingParams.
//
// The chain, in llama.cpp's default order (each step sees what the previous one left):
//   1. logit bias         logit[id] += bias; -inf bans the token; then the grammar's mask (the
//                         `allowed` bit set, when given) bans every token it does not allow
//   2. penalties          repetition (llama.cpp), then frequency and presence (OpenAI), all over
//                         the last repeat_last_n tokens of the history
//   3. greedy             if temperature <= 0: argmax of what is left, ties -> lowest id; stop here
//   4. top_k              keep the k highest logits
//   5. top_p              keep the smallest prefix (by probability) whose mass reaches top_p
//   6. min_p              keep tokens with p >= min_p * p_max
//   7. temperature        logit /= temperature
//   8. softmax and draw   inverse CDF with a 53-bit uniform from the seeded std::mt19937
// Steps 5 and 6 compute probabilities at temperature 1, before step 7 rescales, as llama.cpp does.
// Ties between equal logits always resolve towards the lower id, so the same seed and the same
// sequence of logits give the same tokens on every platform (no std::*_distribution is used: their
// algorithms are left to each standard library).
//
// Not thread-safe: one Sampler per sequence. Scratch is sized once in the constructor; sample()
// does not allocate.

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "sampling/sampling_params.h"

namespace tandem {

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t id = 0;
  float logprob = 0.0f;  // of `id`, see Sampler::sample_with_logprobs
  size_t n_top = 0;      // alternatives written to the caller's span
};

class Sampler {
 public:
  // params must pass validate() and validate_logit_bias(params, n_vocab) (checked).
  Sampler(const SamplingParams& params, int32_t n_vocab);

  // logits: [n_vocab], raw from the model. history: prompt + tokens generated so far, oldest first;
  // only its last repeat_last_n entries matter. Every id in history must be in [0, n_vocab).
  // allowed: empty, or ceil(n_vocab / 64) words whose bit id % 64 of word id / 64 allows token id
  // (GrammarMatcher::fill_mask); the token drawn is always an allowed one when any is.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history,
                 std::span<const uint64_t> allowed = {});

  // The same draw (same token, same RNG advance) plus log-probabilities for OpenAI's logprobs.
  // They are log_softmax of the logits after logit_bias and before the penalties, truncation
  // (top_k, top_p, min_p) and temperature: the distribution the request asked the sampler to start
  // from, so a token the client banned has logprob -inf and is never listed as an alternative,
  // while the numbers stay those of `tandem eval` when there is no bias. The top.size() most likely
  // tokens (fewer if the vocabulary or the unbanned tokens are fewer) are written to `top`, most
  // likely first. A grammar's mask counts as a ban: the distribution is over the allowed tokens.
  SampledToken sample_with_logprobs(std::span<const float> logits, std::span<const int32_t> history,
                                    std::span<TokenLogprob> top, std::span<const uint64_t> allowed = {});

  // Restarts the random sequence; kRandomSeed picks a fresh seed from std::random_device.
  void reseed(uint64_t seed);

  // The seed in use, after kRandomSeed was replaced: report it and a later request can replay.
  uint64_t seed() const { return seed_; }
  const SamplingParams& params() const { return params_; }
  int32_t n_vocab() const { return n_vocab_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p;  // unnormalised probability, valid after softmax()
  };

  void load_candidates(std::span<const float> logits, std::span<const uint64_t> allowed);
  void apply_penalties(std::span<const int32_t> history);
  void drop_banned();
  int32_t greedy() const;
  void apply_top_k();
  void apply_top_p();
  void apply_min_p();
  void apply_temperature();
  double softmax();  // fills p over the live candidates, returns their sum
  int32_t draw(double sum);
  double uniform();  // in [0, 1), 53 bits

  SamplingParams params_;
  int32_t n_vocab_;
  std::vector<Candidate> candidates_;  // [n_vocab]; the live ones are [0, n_candidates_)
  size_t n_candidates_ = 0;
  bool sorted_ = false;          // live candidates sorted by logit descending, then id ascending
  std::vector<int32_t> counts_;  // [n_vocab]; all zero between calls
  std::vector<float> biased_;    // [n_vocab] with logit_bias, only when the request has a bias
  std::mt19937 rng_;
  uint64_t seed_ = 0;
};

}  // namespace tandem
