#include "sampling/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace tandem {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The error message, or "" when the params are valid.
std::string error_of(const SamplingParams& params) {
  const Status status = validate(params);
  return status.ok() ? "" : status.error();
}

TEST(SamplingParams, DefaultsAreValid) {
  EXPECT_EQ(error_of(SamplingParams{}), "");
  EXPECT_TRUE(validate_logit_bias(SamplingParams{}, 10).ok());
}

TEST(SamplingParams, BoundsAreInclusiveWhereDocumented) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_p = 1.0f;
  p.min_p = 1.0f;
  p.frequency_penalty = -2.0f;
  p.presence_penalty = 2.0f;
  p.repeat_last_n = -1;
  p.top_k = -5;
  EXPECT_EQ(error_of(p), "");
  p.temperature = 2.0f;
  p.min_p = 0.0f;
  EXPECT_EQ(error_of(p), "");
}

struct BadField {
  const char* field;
  void (*spoil)(SamplingParams&);
};

TEST(SamplingParams, EachBadFieldIsNamed) {
  const BadField cases[] = {
      {"temperature", [](SamplingParams& p) { p.temperature = -0.1f; }},
      {"temperature", [](SamplingParams& p) { p.temperature = 2.5f; }},
      {"temperature", [](SamplingParams& p) { p.temperature = std::nanf(""); }},
      {"top_p", [](SamplingParams& p) { p.top_p = 0.0f; }},
      {"top_p", [](SamplingParams& p) { p.top_p = 1.5f; }},
      {"min_p", [](SamplingParams& p) { p.min_p = -0.1f; }},
      {"min_p", [](SamplingParams& p) { p.min_p = 1.1f; }},
      {"repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = 0.0f; }},
      {"repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = kInf; }},
      {"repeat_last_n", [](SamplingParams& p) { p.repeat_last_n = -2; }},
      {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = 2.1f; }},
      {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = -3.0f; }},
      {"logit_bias", [](SamplingParams& p) { p.logit_bias = {{3, 101.0f}}; }},
      {"logit_bias", [](SamplingParams& p) { p.logit_bias = {{3, kInf}}; }},
      {"logit_bias", [](SamplingParams& p) { p.logit_bias = {{3, std::nanf("")}}; }},
      {"stop", [](SamplingParams& p) { p.stop.assign(kMaxStopStrings + 1, "x"); }},
      {"stop[1]", [](SamplingParams& p) { p.stop = {"a", ""}; }},
      {"stop[0]", [](SamplingParams& p) { p.stop = {std::string(kMaxStopStringBytes + 1, 'x')}; }},
  };
  for (const auto& c : cases) {
    SamplingParams p;
    c.spoil(p);
    const std::string error = error_of(p);
    EXPECT_NE(error.find(c.field), std::string::npos) << "field " << c.field << ", message: " << error;
  }
}

TEST(SamplingParams, BanAndBoundedBiasAreValid) {
  SamplingParams p;
  p.logit_bias = {{1, -kInf}, {2, -100.0f}, {3, 100.0f}};
  p.stop.assign(kMaxStopStrings, "x");
  EXPECT_EQ(error_of(p), "");
}

TEST(SamplingParams, LogitBiasIdsAreCheckedAgainstTheVocabulary) {
  SamplingParams p;
  p.logit_bias = {{0, 1.0f}, {9, 1.0f}};
  EXPECT_TRUE(validate_logit_bias(p, 10).ok());
  p.logit_bias.push_back({10, 1.0f});
  const Status too_big = validate_logit_bias(p, 10);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().find("logit_bias"), std::string::npos);
  EXPECT_NE(too_big.error().find("10"), std::string::npos);
  p.logit_bias = {{-1, 1.0f}};
  EXPECT_FALSE(validate_logit_bias(p, 10).ok());
}

TEST(SamplingParams, BanningEveryTokenIsRejected) {
  SamplingParams p;
  p.logit_bias = {{0, -kInf}, {1, -kInf}, {1, -kInf}};
  EXPECT_TRUE(validate_logit_bias(p, 3).ok());
  p.logit_bias.push_back({2, -kInf});
  EXPECT_FALSE(validate_logit_bias(p, 3).ok());
}

}  // namespace
}  // namespace tandem
