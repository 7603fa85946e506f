// The grammar's mask in the sampler: applied after logit_bias, for greedy and random draws, and
// counted as a ban by the log-probabilities.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "sampling/sampler.h"

namespace tandem {
namespace {

constexpr int32_t kVocab = 130;  // more than two mask words

std::vector<uint64_t> mask_of(std::initializer_list<int32_t> ids) {
  std::vector<uint64_t> mask((kVocab + 63) / 64, 0);
  for (int32_t id : ids) mask[static_cast<size_t>(id) / 64] |= uint64_t{1} << (id % 64);
  return mask;
}

std::vector<float> rising_logits() {
  std::vector<float> logits(kVocab);
  for (int32_t i = 0; i < kVocab; ++i) logits[i] = static_cast<float>(i) * 0.1f;
  return logits;
}

TEST(SamplerMask, GreedyPicksTheBestAllowedToken) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler sampler(p, kVocab);
  const auto logits = rising_logits();
  EXPECT_EQ(sampler.sample(logits, {}), kVocab - 1);
  const auto mask = mask_of({3, 70, 100});
  EXPECT_EQ(sampler.sample(logits, {}, mask), 100);
}

TEST(SamplerMask, RandomDrawsStayInsideTheMask) {
  SamplingParams p;
  p.temperature = 1.5f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 5;
  Sampler sampler(p, kVocab);
  const auto logits = rising_logits();
  const auto mask = mask_of({0, 1, 64, 129});
  for (int i = 0; i < 500; ++i) {
    const int32_t id = sampler.sample(logits, {}, mask);
    EXPECT_TRUE(id == 0 || id == 1 || id == 64 || id == 129) << id;
  }
}

TEST(SamplerMask, BiasCannotReviveAMaskedToken) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logit_bias = {{5, 100.0f}};
  Sampler sampler(p, kVocab);
  EXPECT_EQ(sampler.sample(rising_logits(), {}, mask_of({6, 7})), 7);
}

TEST(SamplerMask, BiasBanningEveryAllowedTokenStillPicksAnAllowedOne) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logit_bias = {{6, -INFINITY}, {7, -INFINITY}};
  Sampler sampler(p, kVocab);
  EXPECT_EQ(sampler.sample(rising_logits(), {}, mask_of({6, 7})), 7);
}

TEST(SamplerMask, LogprobsAreOverTheAllowedTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler sampler(p, kVocab);
  std::vector<TokenLogprob> top(5);
  const SampledToken t = sampler.sample_with_logprobs(rising_logits(), {}, top, mask_of({10, 20}));
  EXPECT_EQ(t.id, 20);
  ASSERT_EQ(t.n_top, 2u);  // only the allowed tokens are alternatives
  EXPECT_EQ(top[0].id, 20);
  EXPECT_EQ(top[1].id, 10);
  EXPECT_NEAR(std::exp(top[0].logprob) + std::exp(top[1].logprob), 1.0, 1e-5);
}

}  // namespace
}  // namespace tandem
