#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace tandem {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Temperature 1, no truncation, fixed seed: draws follow softmax(logits) exactly.
SamplingParams plain() {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  return p;
}

SamplingParams greedy() {
  SamplingParams p = plain();
  p.temperature = 0.0f;
  return p;
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0) {
  std::vector<double> p(logits.size());
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp((logits[i] - max) / temperature);
  for (double& x : p) x /= sum;
  return p;
}

std::vector<float> log_of(const std::vector<double>& probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Empirical frequency of each token over n draws.
std::vector<double> frequencies(Sampler& sampler, const std::vector<float>& logits, int n,
                                const std::vector<int32_t>& history = {}) {
  std::vector<double> freq(logits.size(), 0.0);
  for (int i = 0; i < n; ++i) freq[sampler.sample(logits, history)] += 1.0 / n;
  return freq;
}

std::vector<float> random_logits(std::mt19937& rng, int32_t n_vocab) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> logits(n_vocab);
  for (float& x : logits) x = normal(rng);
  return logits;
}

TEST(Sampler, GreedyPicksArgmaxAndLowestIdOnTies) {
  Sampler sampler(greedy(), 5);
  EXPECT_EQ(sampler.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 2.9f, 1.0f}, {}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{0.0f, 5.0f, 1.0f, 5.0f, 5.0f}, {}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{7.0f, 7.0f, 7.0f, 7.0f, 7.0f}, {}), 0);
}

TEST(Sampler, TopKOfOneEqualsGreedy) {
  SamplingParams p = plain();
  p.top_k = 1;
  Sampler top1(p, 64);
  Sampler argmax(greedy(), 64);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<float> logits = random_logits(rng, 64);
    if (trial % 5 == 0) logits[40] = logits[3] = 100.0f;  // a tie at the top: lowest id wins
    EXPECT_EQ(top1.sample(logits, {}), argmax.sample(logits, {})) << "trial " << trial;
  }
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  SamplingParams p = plain();
  p.top_k = 2;
  Sampler sampler(p, 4);
  const auto freq = frequencies(sampler, {1.0f, 3.0f, 0.0f, 2.9f}, 2000);
  EXPECT_EQ(freq[0], 0.0);
  EXPECT_EQ(freq[2], 0.0);
  EXPECT_GT(freq[1], 0.4);
  EXPECT_GT(freq[3], 0.4);
}

TEST(Sampler, SmallTopPKeepsOnlyTheTopToken) {
  SamplingParams p = plain();
  p.top_p = 0.01f;
  Sampler sampler(p, 4);
  const auto freq = frequencies(sampler, {1.0f, 1.2f, 0.9f, 1.1f}, 500);
  EXPECT_NEAR(freq[1], 1.0, 1e-9);  // a sum of 1/500s
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  SamplingParams p = plain();
  p.top_p = 0.7f;  // 0.5 is not enough, 0.5 + 0.3 is
  Sampler sampler(p, 4);
  const auto freq = frequencies(sampler, log_of({0.5, 0.3, 0.15, 0.05}), 20000);
  EXPECT_NEAR(freq[0], 0.5 / 0.8, 0.02);
  EXPECT_NEAR(freq[1], 0.3 / 0.8, 0.02);
  EXPECT_EQ(freq[2], 0.0);
  EXPECT_EQ(freq[3], 0.0);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  SamplingParams p = plain();
  p.min_p = 0.2f;  // threshold 0.1: keeps 0.5, 0.3, 0.15
  Sampler sampler(p, 4);
  const auto freq = frequencies(sampler, log_of({0.5, 0.3, 0.15, 0.05}), 20000);
  EXPECT_NEAR(freq[0], 0.5 / 0.95, 0.02);
  EXPECT_NEAR(freq[2], 0.15 / 0.95, 0.02);
  EXPECT_EQ(freq[3], 0.0);
}

TEST(Sampler, TruncationUsesProbabilitiesBeforeTemperature) {
  // At temperature 1 token 1 has 0.1 of the best one's probability, below min_p = 0.2; at
  // temperature 2 it would have sqrt(0.1) = 0.32. llama.cpp's order filters before the
  // temperature, so token 1 must never be drawn.
  SamplingParams p = plain();
  p.min_p = 0.2f;
  p.temperature = 2.0f;
  Sampler sampler(p, 2);
  const auto freq = frequencies(sampler, log_of({0.5, 0.05}), 2000);
  EXPECT_EQ(freq[1], 0.0);
}

TEST(Sampler, DrawsFollowSoftmaxAtTemperatureOne) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};
  Sampler sampler(plain(), 5);
  const auto freq = frequencies(sampler, logits, 20000);
  const auto expected = softmax(logits);
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(freq[i], expected[i], 0.015) << "token " << i;
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  for (float temperature : {0.5f, 2.0f}) {
    SamplingParams p = plain();
    p.temperature = temperature;
    Sampler sampler(p, 3);
    const auto freq = frequencies(sampler, logits, 20000);
    const auto expected = softmax(logits, temperature);
    for (size_t i = 0; i < logits.size(); ++i) {
      EXPECT_NEAR(freq[i], expected[i], 0.015) << "temperature " << temperature << ", token " << i;
    }
  }
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingParams p = greedy();
  p.repeat_penalty = 1.2f;
  Sampler sampler(p, 3);
  const std::vector<int32_t> history = {0};
  EXPECT_EQ(sampler.sample(std::vector<float>{2.0f, 1.9f, 0.0f}, {}), 0);
  EXPECT_EQ(sampler.sample(std::vector<float>{2.0f, 1.9f, 0.0f}, history), 1);  // 2 / 1.2 = 1.67
  EXPECT_EQ(sampler.sample(std::vector<float>{-1.0f, -1.1f, -5.0f}, history), 1);  // -1 * 1.2 = -1.2
}

TEST(Sampler, PenaltiesLookOnlyAtTheLastNTokens) {
  const std::vector<float> logits = {2.0f, 1.9f, 0.0f};
  const std::vector<int32_t> history = {0, 2, 2};  // token 0 is three tokens back
  const auto pick = [&](int32_t last_n) {
    SamplingParams p = greedy();
    p.repeat_penalty = 1.2f;
    p.repeat_last_n = last_n;
    Sampler sampler(p, 3);
    return sampler.sample(logits, history);
  };
  EXPECT_EQ(pick(2), 0);
  EXPECT_EQ(pick(3), 1);
  EXPECT_EQ(pick(-1), 1);  // the whole history
  EXPECT_EQ(pick(0), 0);   // disabled
}

TEST(Sampler, FrequencyPenaltyScalesWithCountPresenceDoesNot) {
  const std::vector<float> logits = {3.0f, 2.5f, 0.0f};
  const std::vector<int32_t> history = {0, 0, 0, 1};
  SamplingParams frequency = greedy();
  frequency.frequency_penalty = 0.3f;  // 3 - 3 * 0.3 = 2.1 < 2.5 - 0.3 = 2.2
  EXPECT_EQ(Sampler(frequency, 3).sample(logits, history), 1);
  SamplingParams presence = greedy();
  presence.presence_penalty = 0.3f;  // 3 - 0.3 = 2.7 > 2.5 - 0.3 = 2.2
  EXPECT_EQ(Sampler(presence, 3).sample(logits, history), 0);
  SamplingParams negative = greedy();
  negative.presence_penalty = -1.0f;  // encourages what was seen: token 1 rises to 3.5
  EXPECT_EQ(Sampler(negative, 3).sample(std::vector<float>{3.0f, 2.5f, 0.0f}, std::vector<int32_t>{1}), 1);
}

TEST(Sampler, PenaltiesDoNotLeakIntoTheNextCall) {
  SamplingParams p = greedy();
  p.frequency_penalty = 2.0f;
  Sampler sampler(p, 3);
  const std::vector<float> logits = {3.0f, 2.5f, 0.0f};
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0, 0}), 1);
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{2}), 0);
}

TEST(Sampler, LogitBiasBansAndPromotes) {
  const std::vector<float> logits = {1.0f, 5.0f, 4.0f, 0.0f};
  SamplingParams ban = greedy();
  ban.logit_bias = {{1, -kInf}};
  EXPECT_EQ(Sampler(ban, 4).sample(logits, {}), 2);

  SamplingParams promote = greedy();
  promote.logit_bias = {{3, 3.0f}, {3, 3.0f}};  // entries for one id add up: 6 > 5
  EXPECT_EQ(Sampler(promote, 4).sample(logits, {}), 3);

  SamplingParams sampled = plain();
  sampled.logit_bias = {{1, -kInf}, {2, -kInf}};
  Sampler sampler(sampled, 4);
  const auto freq = frequencies(sampler, logits, 2000);
  EXPECT_EQ(freq[1], 0.0);
  EXPECT_EQ(freq[2], 0.0);
  EXPECT_NEAR(freq[0], softmax({1.0f, 0.0f})[0], 0.05);
}

TEST(Sampler, BiasComesBeforePenalties) {
  // Bias first: (1 + 1) / 2 = 1 < 1.5. Penalty first would give 1 / 2 + 1 = 1.5, a tie won by id 0.
  SamplingParams p = greedy();
  p.logit_bias = {{0, 1.0f}};
  p.repeat_penalty = 2.0f;
  EXPECT_EQ(Sampler(p, 2).sample(std::vector<float>{1.0f, 1.5f}, std::vector<int32_t>{0}), 1);
}

TEST(Sampler, NonFiniteModelLogitsAreNeverDrawn) {
  Sampler sampler(plain(), 4);
  const auto freq = frequencies(sampler, {-kInf, 0.0f, std::nanf(""), 0.0f}, 1000);
  EXPECT_EQ(freq[0], 0.0);
  EXPECT_EQ(freq[2], 0.0);
  // Nothing left to choose from: the argmax of the raw logits, rather than a crash.
  EXPECT_EQ(sampler.sample(std::vector<float>{-kInf, -kInf, -kInf, -kInf}, {}), 0);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  constexpr int32_t kVocab = 50;
  std::mt19937 rng(3);
  std::vector<std::vector<float>> steps;
  for (int i = 0; i < 200; ++i) steps.push_back(random_logits(rng, kVocab));

  const auto run = [&](uint64_t seed) {
    SamplingParams p;  // the defaults: every step of the chain active
    p.temperature = 1.5f;
    p.frequency_penalty = 0.5f;
    p.seed = seed;
    Sampler sampler(p, kVocab);
    std::vector<int32_t> tokens;
    for (const auto& logits : steps) tokens.push_back(sampler.sample(logits, tokens));
    return tokens;
  };
  EXPECT_EQ(run(1234), run(1234));
  EXPECT_NE(run(1234), run(1235));
  EXPECT_NE(run(1234), run(1234 + (uint64_t{1} << 32)));  // the high word counts
}

TEST(Sampler, ReseedRestartsTheSequence) {
  Sampler sampler(plain(), 8);
  const std::vector<float> logits(8, 0.0f);
  std::vector<int32_t> first, second;
  for (int i = 0; i < 50; ++i) first.push_back(sampler.sample(logits, {}));
  sampler.reseed(42);
  for (int i = 0; i < 50; ++i) second.push_back(sampler.sample(logits, {}));
  EXPECT_EQ(first, second);
  EXPECT_EQ(sampler.seed(), 42u);
}

TEST(Sampler, RandomSeedIsReplacedAndReported) {
  SamplingParams p = plain();
  p.seed = kRandomSeed;
  Sampler a(p, 8);
  Sampler b(p, 8);
  EXPECT_NE(a.seed(), b.seed());  // 2^-64 odds of a false failure

  // The reported seed replays the same tokens.
  SamplingParams replay = plain();
  replay.seed = a.seed();
  Sampler c(replay, 8);
  const std::vector<float> logits(8, 0.0f);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.sample(logits, {}), c.sample(logits, {}));
}

TEST(Sampler, LogprobsComeFromTheLogitsBeforeTemperature) {
  SamplingParams p = plain();
  p.temperature = 0.3f;  // changes the draw, not the reported distribution
  p.top_k = 1;
  Sampler sampler(p, 4);
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f, 0.0f};
  const auto expected = softmax(logits);
  std::vector<TokenLogprob> top(4);
  const SampledToken token = sampler.sample_with_logprobs(logits, {}, top);
  EXPECT_EQ(token.id, 2);
  EXPECT_NEAR(token.logprob, std::log(expected[2]), 1e-5);
  ASSERT_EQ(token.n_top, 4u);  // top_k truncated the draw, not the alternatives
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(top[i].logprob, std::log(expected[top[i].id]), 1e-5);
}

TEST(Sampler, LogprobsSeeTheLogitBiasAndNeverListABannedToken) {
  SamplingParams p = greedy();
  p.logit_bias = {{2, -kInf}, {0, 1.5f}};
  Sampler sampler(p, 4);
  const std::vector<float> logits = {1.0f, 2.0f, 3.0f, 0.0f};
  const auto expected = softmax({2.5f, 2.0f, -kInf, 0.0f});
  std::vector<TokenLogprob> top(4);
  const SampledToken token = sampler.sample_with_logprobs(logits, {}, top);
  EXPECT_EQ(token.id, 0);
  EXPECT_NEAR(token.logprob, std::log(expected[0]), 1e-5);
  ASSERT_EQ(token.n_top, 3u);
  EXPECT_EQ(top[0].id, 0);
  EXPECT_EQ(top[1].id, 1);
  EXPECT_EQ(top[2].id, 3);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(top[i].logprob, std::log(expected[top[i].id]), 1e-5);
}

TEST(Sampler, LogprobsTopHandlesTiesAndSmallVocabularies) {
  Sampler sampler(greedy(), 3);
  const std::vector<float> logits = {1.0f, 1.0f, 1.0f};
  std::vector<TokenLogprob> top(5);
  const SampledToken token = sampler.sample_with_logprobs(logits, {}, top);
  ASSERT_EQ(token.n_top, 3u);
  for (int32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(top[i].id, i);
    EXPECT_NEAR(top[i].logprob, std::log(1.0 / 3.0), 1e-5);
  }
  EXPECT_EQ(sampler.sample_with_logprobs(logits, {}, {}).n_top, 0u);
}

TEST(Sampler, LogprobsDoNotChangeTheDraw) {
  constexpr int32_t kVocab = 30;
  SamplingParams p = plain();
  p.seed = 99;
  Sampler with(p, kVocab);
  Sampler without(p, kVocab);
  std::mt19937 rng(5);
  std::vector<TokenLogprob> top(4);
  for (int i = 0; i < 100; ++i) {
    const auto logits = random_logits(rng, kVocab);
    EXPECT_EQ(with.sample_with_logprobs(logits, {}, top).id, without.sample(logits, {}));
  }
}

TEST(Sampler, LargeVocabularyWithDefaults) {
  constexpr int32_t kVocab = 152064;  // Qwen2's
  std::mt19937 rng(11);
  const auto logits = random_logits(rng, kVocab);
  SamplingParams p;
  p.seed = 1;
  Sampler sampler(p, kVocab);
  std::vector<float> sorted = logits;
  std::nth_element(sorted.begin(), sorted.begin() + 39, sorted.end(), std::greater<>());
  const float fortieth = sorted[39];
  std::vector<int32_t> history;
  for (int i = 0; i < 20; ++i) {
    const int32_t id = sampler.sample(logits, history);
    EXPECT_GE(logits[id], fortieth);
    history.push_back(id);
  }
}

}  // namespace
}  // namespace tandem
