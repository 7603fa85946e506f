// Requests that start together with the same long prompt (the n choices of one OpenAI request)
// compute its keys and values once: the others wait for them and copy them, and answer exactly as
// they would alone. And the KV cache use the server reports counts the running sequences' cells.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../support/engine_harness.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

const std::string kLongPrompt =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun with her dog.";

using test::Recorder;
using test::run_until_done;

std::unique_ptr<Engine> load(int32_t n_seq, int32_t n_batch = 64) {
  return test::load_engine(test::stories_model(), {.n_seq = n_seq, .n_batch = n_batch});
}

GenerationRequest request(Engine& engine, const std::string& prompt, int32_t n, float temperature, uint64_t seed) {
  GenerationRequest r;
  r.prompt_tokens = engine.tokenize_prompt(prompt);
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  r.max_tokens = n;
  return r;
}

TEST(SharedPrefix, SiblingsComputeThePromptOnceAndAnswerAsAlone) {
  auto engine = load(4);
  const size_t n_prompt = engine->tokenize_prompt(kLongPrompt).size();
  ASSERT_GT(n_prompt, 20u);
  std::vector<std::shared_ptr<Recorder>> choices;
  for (uint64_t i = 0; i < 3; ++i) {
    choices.push_back(std::make_shared<Recorder>());
    ASSERT_TRUE(engine->begin(request(*engine, kLongPrompt, 24, 0.8f, 7 + i), choices.back()));
  }
  run_until_done(*engine);
  // The first computes the whole prompt; the others only its last token (for their own logits).
  ASSERT_TRUE(choices[0]->result);
  EXPECT_EQ(choices[0]->result->n_reused_tokens, 0);
  for (size_t i = 1; i < choices.size(); ++i) {
    ASSERT_TRUE(choices[i]->result);
    EXPECT_EQ(choices[i]->result->n_reused_tokens, static_cast<int32_t>(n_prompt - 1)) << "choice " << i;
  }
  // Each choice gives what it gives alone, with its own seed.
  for (uint64_t i = 0; i < 3; ++i) {
    auto lone = load(1);
    auto alone = lone->generate(request(*lone, kLongPrompt, 24, 0.8f, 7 + i));
    ASSERT_TRUE(alone);
    EXPECT_EQ(choices[i]->text, alone->text) << "choice " << i;
  }
  EXPECT_NE(choices[0]->text, choices[1]->text);  // their seeds differ
}

TEST(SharedPrefix, ALongPromptReadInChunksIsStillComputedOnce) {
  auto engine = load(3, /*n_batch=*/8);  // the prompt takes several steps
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(request(*engine, kLongPrompt, 16, 0.0f, 1), a));
  engine->step();  // a has read a chunk when b arrives
  ASSERT_TRUE(engine->begin(request(*engine, kLongPrompt + " Her dog", 16, 0.0f, 1), b));
  run_until_done(*engine);
  const auto n_prompt = static_cast<int32_t>(engine->tokenize_prompt(kLongPrompt).size());
  EXPECT_GE(b->result->n_reused_tokens, n_prompt - 1);
  auto lone = load(1);
  EXPECT_EQ(b->text, lone->generate(request(*lone, kLongPrompt + " Her dog", 16, 0.0f, 1))->text);
}

TEST(SharedPrefix, AWaiterWhoseDonorIsCancelledComputesTheRestItself) {
  auto engine = load(2, /*n_batch=*/8);
  auto donor = std::make_shared<Recorder>();
  auto waiter = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(request(*engine, kLongPrompt, 16, 0.0f, 1), donor));
  ASSERT_TRUE(engine->begin(request(*engine, kLongPrompt, 16, 0.0f, 1), waiter));
  engine->step();
  donor->cancel_now = true;
  run_until_done(*engine);
  EXPECT_EQ(donor->result->finish, FinishReason::kCancelled);
  ASSERT_TRUE(waiter->result);
  EXPECT_EQ(waiter->result->tokens.size(), 16u);
  EXPECT_GT(waiter->result->n_reused_tokens, 0);  // the chunk the donor read before it left
  auto lone = load(1);
  EXPECT_EQ(waiter->text, lone->generate(request(*lone, kLongPrompt, 16, 0.0f, 1))->text);
}

TEST(SharedPrefix, KvCacheUseCountsTheRunningSequences) {
  auto engine = load(2);
  EXPECT_EQ(engine->kv_cache_use().total_cells, 2 * engine->n_ctx());
  EXPECT_EQ(engine->kv_cache_use().used_cells, 0);
  auto a = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(request(*engine, kLongPrompt, 10, 0.0f, 1), a));
  engine->step();
  engine->step();
  const int64_t n_prompt = static_cast<int64_t>(engine->tokenize_prompt(kLongPrompt).size());
  EXPECT_EQ(engine->kv_cache_use().used_cells, n_prompt + 1);  // the prompt and the first token fed back
  run_until_done(*engine);
  EXPECT_EQ(engine->kv_cache_use().used_cells, 0);  // what the idle slot keeps for reuse is not in use
}

}  // namespace
}  // namespace tandem
