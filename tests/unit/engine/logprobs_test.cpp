// Logprobs that a generation reports are the engine's own: the same numbers as teacher forcing
// (Engine::evaluate) on the prompt plus the generated tokens, as `tandem eval` computes them.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "../support/engine_harness.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(l - max);
  std::vector<double> out;
  for (float l : logits) out.push_back(l - max - std::log(sum));
  return out;
}

std::unique_ptr<Engine> load() { return test::load_engine(test::stories_model()); }

TEST(Logprobs, MatchTeacherForcingOnTheSameText) {
  auto engine = load();
  ASSERT_TRUE(engine);
  GenerationRequest r;
  r.prompt_tokens = engine->tokenize_prompt("Once upon a time");
  r.sampling.temperature = 0.8f;  // a sampled (not greedy) path: logprobs ignore the temperature
  r.sampling.seed = 7;
  r.max_tokens = 24;
  r.top_logprobs = 5;
  auto recorder = std::make_shared<test::Recorder>();
  ASSERT_TRUE(engine->begin(r, recorder));
  for (int i = 0; i < 1000 && engine->n_active() > 0; ++i) engine->step();
  ASSERT_TRUE(recorder->result);
  const std::vector<int32_t>& generated = recorder->result->tokens;
  ASSERT_EQ(recorder->tokens.size(), generated.size());
  ASSERT_FALSE(generated.empty());

  std::vector<int32_t> all = r.prompt_tokens;
  all.insert(all.end(), generated.begin(), generated.end());
  auto rows = engine->evaluate(all);
  ASSERT_TRUE(rows) << rows.error();
  for (size_t i = 0; i < generated.size(); ++i) {
    const TokenLogprobs& t = recorder->tokens[i];
    const auto expected = log_softmax((*rows)[r.prompt_tokens.size() - 1 + i]);
    EXPECT_EQ(t.token.id, generated[i]);
    EXPECT_NEAR(t.token.logprob, expected[static_cast<size_t>(generated[i])], 2e-3) << "token " << i;
    ASSERT_EQ(t.top.size(), 5u);
    for (size_t k = 0; k < t.top.size(); ++k) {
      EXPECT_NEAR(t.top[k].logprob, expected[static_cast<size_t>(t.top[k].id)], 2e-3);
      if (k > 0) {
        EXPECT_GE(t.top[k - 1].logprob, t.top[k].logprob);
      }
    }
  }
}

TEST(Logprobs, OffByDefaultAndBoundedAtTwenty) {
  auto engine = load();
  ASSERT_TRUE(engine);
  GenerationRequest r;
  r.prompt_tokens = engine->tokenize_prompt("Once");
  r.max_tokens = 4;
  auto recorder = std::make_shared<test::Recorder>();
  ASSERT_TRUE(engine->begin(r, recorder));
  for (int i = 0; i < 100 && engine->n_active() > 0; ++i) engine->step();
  EXPECT_TRUE(recorder->tokens.empty());
  r.top_logprobs = kMaxTopLogprobs + 1;
  EXPECT_FALSE(engine->validate_request(r));
}

}  // namespace
}  // namespace tandem
