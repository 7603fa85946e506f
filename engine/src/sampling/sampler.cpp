#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/check.h"

namespace tandem {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Higher logit first; equal logits by lower id, so that every ordering is total and reproducible.
template <typename T>
bool ranks_before(const T& a, const T& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

bool is_allowed(std::span<const uint64_t> allowed, int32_t id) {
  return allowed.empty() || ((allowed[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1);
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), candidates_(static_cast<size_t>(n_vocab)),
      counts_(static_cast<size_t>(n_vocab), 0) {
  TANDEM_CHECK(n_vocab > 0);
  TANDEM_CHECK_MSG(validate(params_).ok(), "SamplingParams must be validated before use");
  TANDEM_CHECK_MSG(validate_logit_bias(params_, n_vocab).ok(), "logit_bias must be validated before use");
  reseed(params_.seed);
}

void Sampler::reseed(uint64_t seed) {
  if (seed == kRandomSeed) {
    std::random_device device;
    seed = (static_cast<uint64_t>(device()) << 32) | device();
  }
  seed_ = seed;
  // Both halves go in, so that 64-bit seeds differing only in the high word still differ.
  std::seed_seq sequence{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  rng_.seed(sequence);
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history,
                        std::span<const uint64_t> allowed) {
  TANDEM_CHECK(logits.size() == static_cast<size_t>(n_vocab_));
  TANDEM_CHECK(allowed.empty() || allowed.size() == (static_cast<size_t>(n_vocab_) + 63) / 64);
  load_candidates(logits, allowed);
  apply_penalties(history);
  drop_banned();
  if (n_candidates_ == 0) {
    // Only reachable when the model itself gives -inf or NaN to every token that the bias left
    // allowed (validate_logit_bias keeps the bias alone from banning everything), or when the
    // bias banned all that a grammar allows: the best raw logit, among the grammar's tokens.
    int32_t best = -1;
    for (int32_t id = 0; id < n_vocab_; ++id) {
      if (is_allowed(allowed, id) && (best < 0 || logits[id] > logits[best])) best = id;
    }
    return best < 0 ? 0 : best;
  }
  if (params_.temperature <= 0.0f) return greedy();
  apply_top_k();
  apply_top_p();
  apply_min_p();
  apply_temperature();
  return draw(softmax());
}

SampledToken Sampler::sample_with_logprobs(std::span<const float> logits, std::span<const int32_t> history,
                                           std::span<TokenLogprob> top, std::span<const uint64_t> allowed) {
  SampledToken result;
  result.id = sample(logits, history, allowed);
  if (!params_.logit_bias.empty() || !allowed.empty()) {
    biased_.assign(logits.begin(), logits.end());  // sized once: no allocation after the first call
    for (const auto& [id, bias] : params_.logit_bias) biased_[id] += bias;
    if (!allowed.empty()) {
      for (int32_t id = 0; id < n_vocab_; ++id) {
        if (!is_allowed(allowed, id)) biased_[id] = kNegInf;
      }
    }
    logits = biased_;
  }

  // log_softmax of the raw logits; -inf and NaN entries count as probability 0.
  float max_logit = kNegInf;
  for (float logit : logits) max_logit = std::max(max_logit, logit);
  double sum = 0.0;
  if (max_logit > kNegInf) {
    for (float logit : logits) {
      if (logit > kNegInf) sum += std::exp(static_cast<double>(logit) - max_logit);
    }
  }
  const double log_z = max_logit > kNegInf ? max_logit + std::log(sum) : 0.0;
  auto logprob = [&](float logit) {
    return logit > kNegInf ? static_cast<float>(logit - log_z) : kNegInf;
  };
  result.logprob = logprob(logits[result.id]);

  // The few best by insertion: top.size() is small (OpenAI allows 20) and most logits lose to the
  // current last entry at the first comparison.
  const size_t n_top = std::min(top.size(), static_cast<size_t>(n_vocab_));
  size_t filled = 0;
  for (int32_t id = 0; id < n_vocab_; ++id) {
    const float logit = logits[id];
    if (std::isnan(logit) || logit == kNegInf) continue;  // banned: not an alternative
    const TokenLogprob entry{id, logit};  // holds the logit until the end
    const auto beats = [](const TokenLogprob& a, const TokenLogprob& b) {
      return a.logprob > b.logprob;  // strict: an equal logit never displaces a lower id
    };
    if (filled < n_top) {
      ++filled;
    } else if (n_top == 0 || !beats(entry, top[n_top - 1])) {
      continue;
    }
    size_t i = filled - 1;
    while (i > 0 && beats(entry, top[i - 1])) {
      top[i] = top[i - 1];
      --i;
    }
    top[i] = entry;
  }
  for (size_t i = 0; i < filled; ++i) top[i].logprob = logprob(top[i].logprob);
  result.n_top = filled;
  return result;
}

void Sampler::load_candidates(std::span<const float> logits, std::span<const uint64_t> allowed) {
  for (int32_t id = 0; id < n_vocab_; ++id) candidates_[id] = Candidate{id, logits[id], 0.0f};
  n_candidates_ = static_cast<size_t>(n_vocab_);
  sorted_ = false;
  // Until drop_banned(), candidates_[id].id == id, which is what lets the bias and the
  // penalties index by token id.
  for (const auto& [id, bias] : params_.logit_bias) candidates_[id].logit += bias;
  if (!allowed.empty()) {
    for (int32_t id = 0; id < n_vocab_; ++id) {
      if (!is_allowed(allowed, id)) candidates_[id].logit = kNegInf;
    }
  }
}

void Sampler::apply_penalties(std::span<const int32_t> history) {
  const bool neutral = params_.repeat_penalty == 1.0f && params_.frequency_penalty == 0.0f &&
                       params_.presence_penalty == 0.0f;
  if (neutral || params_.repeat_last_n == 0) return;
  size_t window = history.size();
  if (params_.repeat_last_n > 0) window = std::min(window, static_cast<size_t>(params_.repeat_last_n));
  const auto recent = history.last(window);

  for (int32_t id : recent) {
    TANDEM_CHECK_MSG(id >= 0 && id < n_vocab_, "token id in history outside the vocabulary");
    ++counts_[id];
  }
  // Each distinct token once: the first visit applies its penalty and zeroes its count, which
  // both skips later repeats and leaves counts_ clean for the next call.
  for (int32_t id : recent) {
    const int32_t count = counts_[id];
    if (count == 0) continue;
    counts_[id] = 0;
    float& logit = candidates_[id].logit;
    // Dividing a negative logit would raise it, so llama.cpp multiplies those instead.
    logit = logit <= 0.0f ? logit * params_.repeat_penalty : logit / params_.repeat_penalty;
    logit -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

void Sampler::drop_banned() {
  size_t kept = 0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    // `> -inf` is false for NaN as well: a NaN logit is never drawn.
    if (candidates_[i].logit > kNegInf) candidates_[kept++] = candidates_[i];
  }
  n_candidates_ = kept;
}

int32_t Sampler::greedy() const {
  size_t best = 0;
  for (size_t i = 1; i < n_candidates_; ++i) {
    if (ranks_before(candidates_[i], candidates_[best])) best = i;
  }
  return candidates_[best].id;
}

void Sampler::apply_top_k() {
  const int32_t k = params_.top_k;
  if (k <= 0 || static_cast<size_t>(k) >= n_candidates_) return;
  const auto begin = candidates_.begin();
  std::partial_sort(begin, begin + k, begin + static_cast<ptrdiff_t>(n_candidates_),
                    ranks_before<Candidate>);
  n_candidates_ = static_cast<size_t>(k);
  sorted_ = true;
}

void Sampler::apply_top_p() {
  if (params_.top_p >= 1.0f || n_candidates_ <= 1) return;
  if (!sorted_) {
    std::sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(n_candidates_),
              ranks_before<Candidate>);
    sorted_ = true;
  }
  const double sum = softmax();
  double mass = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    mass += candidates_[i].p / sum;
    if (mass >= params_.top_p) {
      n_candidates_ = i + 1;
      return;
    }
  }
}

void Sampler::apply_min_p() {
  if (params_.min_p <= 0.0f || n_candidates_ <= 1) return;
  float max_logit = candidates_[0].logit;
  if (!sorted_) {
    for (size_t i = 1; i < n_candidates_; ++i) max_logit = std::max(max_logit, candidates_[i].logit);
  }
  // p >= min_p * p_max  <=>  logit >= max_logit + log(min_p): no softmax needed.
  const float threshold = max_logit + std::log(params_.min_p);
  size_t kept = 0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    if (candidates_[i].logit >= threshold) candidates_[kept++] = candidates_[i];
  }
  n_candidates_ = kept;
}

void Sampler::apply_temperature() {
  const float inverse = 1.0f / params_.temperature;
  for (size_t i = 0; i < n_candidates_; ++i) candidates_[i].logit *= inverse;
}

double Sampler::softmax() {
  float max_logit = candidates_[0].logit;
  for (size_t i = 1; i < n_candidates_; ++i) max_logit = std::max(max_logit, candidates_[i].logit);
  double sum = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    candidates_[i].p = std::exp(candidates_[i].logit - max_logit);
    sum += candidates_[i].p;
  }
  return sum;
}

int32_t Sampler::draw(double sum) {
  const double target = uniform() * sum;
  double mass = 0.0;
  for (size_t i = 0; i < n_candidates_; ++i) {
    mass += candidates_[i].p;
    if (target < mass) return candidates_[i].id;
  }
  // Rounding left target at or past the last step: the last token with any mass.
  size_t i = n_candidates_ - 1;
  while (i > 0 && candidates_[i].p == 0.0f) --i;
  return candidates_[i].id;
}

double Sampler::uniform() {
  // Two 32-bit draws, 27 + 26 bits: every double in [0, 1) with step 2^-53.
  const uint32_t high = rng_() >> 5;
  const uint32_t low = rng_() >> 6;
  return (high * 67108864.0 + low) * (1.0 / 9007199254740992.0);
}

}  // namespace tandem
