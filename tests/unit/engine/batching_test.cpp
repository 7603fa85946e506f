// Continuous batching: many sequences in one forward pass give exactly the answers they give alone.

#include <gtest/gtest.h>

#include <filesystem>

#include "../support/engine_harness.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

using test::greedy_request;

const std::string kStories = test::stories_model();
const std::string kSmolLM2 = test::smollm2_model();

using test::Recorder;
using test::run_until_done;

std::unique_ptr<Engine> load(const std::string& path, int32_t n_seq, int32_t n_batch = 64) {
  return test::load_engine(path, {.n_seq = n_seq, .n_ctx = 512, .n_batch = n_batch});
}

const std::vector<std::string> kPrompts = {"Once upon a time", "The little dog", "Tom and Sue went to the park.",
                                           "Lily saw a big red ball", "One day, a cat", "The sun was hot"};

TEST(Batching, ManySequencesMatchTheirLoneRuns) {
  auto lone = load(kStories, 1);
  std::vector<std::string> expected;
  for (const auto& p : kPrompts) expected.push_back(lone->generate(greedy_request(*lone, p, 40))->text);

  auto engine = load(kStories, 16);
  std::vector<std::shared_ptr<Recorder>> recorders;
  for (int copy = 0; copy < 2; ++copy) {
    for (const auto& p : kPrompts) {
      recorders.push_back(std::make_shared<Recorder>());
      ASSERT_TRUE(engine->begin(greedy_request(*engine, p, 40), recorders.back()));
    }
  }
  EXPECT_EQ(engine->n_active(), 12);
  run_until_done(*engine);
  for (size_t i = 0; i < recorders.size(); ++i) {
    ASSERT_TRUE(recorders[i]->result);
    EXPECT_EQ(recorders[i]->text, expected[i % kPrompts.size()]) << kPrompts[i % kPrompts.size()];
    EXPECT_EQ(recorders[i]->result->text, recorders[i]->text);
  }
}

TEST(Batching, RequestsJoinBetweenStepsAndLeaveWhenDone) {
  auto lone = load(kStories, 1);
  auto engine = load(kStories, 4, /*n_batch=*/8);  // small budget: prompts are chunked across steps
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(greedy_request(*engine, kPrompts[0], 30), a));
  for (int i = 0; i < 5; ++i) engine->step();
  ASSERT_TRUE(engine->begin(greedy_request(*engine, kPrompts[2], 10), b));
  run_until_done(*engine);
  EXPECT_EQ(a->text, lone->generate(greedy_request(*lone, kPrompts[0], 30))->text);
  EXPECT_EQ(b->text, lone->generate(greedy_request(*lone, kPrompts[2], 10))->text);
  EXPECT_EQ(b->result->tokens.size(), 10u);
  EXPECT_EQ(b->result->finish, FinishReason::kLength);
}

TEST(Batching, CancelledSequenceLeavesWithinOneStep) {
  auto engine = load(kStories, 2);
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(greedy_request(*engine, kPrompts[0], 200), a));
  ASSERT_TRUE(engine->begin(greedy_request(*engine, kPrompts[1], 20), b));
  for (int i = 0; i < 3; ++i) engine->step();
  a->cancel_now = true;
  engine->step();
  ASSERT_TRUE(a->result);
  EXPECT_EQ(a->result->finish, FinishReason::kCancelled);
  EXPECT_EQ(engine->n_active(), 1);
  EXPECT_TRUE(engine->has_free_slot());
  run_until_done(*engine);
  EXPECT_EQ(b->result->tokens.size(), 20u);
}

TEST(Batching, ObserverCanCancelFromItsTextCallback) {
  auto engine = load(kStories, 1);
  auto a = std::make_shared<Recorder>();
  a->cancel_after_pieces = 3;
  ASSERT_TRUE(engine->begin(greedy_request(*engine, kPrompts[0], 100), a));
  run_until_done(*engine);
  EXPECT_EQ(a->result->finish, FinishReason::kCancelled);
  EXPECT_EQ(a->pieces, 3);
}

TEST(Batching, FullEngineRefusesAndBadRequestsAreRejected) {
  auto engine = load(kStories, 1);
  ASSERT_TRUE(engine->begin(greedy_request(*engine, kPrompts[0], 5), std::make_shared<Recorder>()));
  auto refused = engine->begin(greedy_request(*engine, kPrompts[1], 5), std::make_shared<Recorder>());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("sequence slots are busy"), std::string::npos);
  run_until_done(*engine);
  GenerationRequest bad = greedy_request(*engine, kPrompts[0], 5);
  bad.prompt_tokens.push_back(100000);
  EXPECT_NE(engine->begin(bad, std::make_shared<Recorder>()).error().find("outside the vocabulary"), std::string::npos);
  bad = greedy_request(*engine, kPrompts[0], -1);
  EXPECT_FALSE(engine->begin(bad, std::make_shared<Recorder>()));
  bad = greedy_request(*engine, std::string(3000, 'a'), 5);
  EXPECT_NE(engine->begin(bad, std::make_shared<Recorder>()).error().find("does not fit the context"), std::string::npos);
}

TEST(Batching, ZeroMaxTokensEndsAfterThePrompt) {
  auto engine = load(kStories, 1);
  auto r = engine->generate(greedy_request(*engine, kPrompts[0], 0));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->tokens.empty());
  EXPECT_EQ(r->finish, FinishReason::kLength);
}

TEST(Batching, PrefixReuseGivesTheSameAnswer) {
  auto engine = load(kStories, 2);
  const std::string system = "Once upon a time, there was a little girl named Lily. She loved to play outside.";
  auto first = engine->generate(greedy_request(*engine, system + " One day", 20));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->n_reused_tokens, 0);
  auto second = engine->generate(greedy_request(*engine, system + " The sun", 20));
  ASSERT_TRUE(second);
  EXPECT_GT(second->n_reused_tokens, 15);
  auto fresh = load(kStories, 1);
  EXPECT_EQ(second->text, fresh->generate(greedy_request(*fresh, system + " The sun", 20))->text);
}

// The same on a quantized model, where batched kernels take other code paths.
TEST(Batching, QuantizedModelBatchesExactly) {
  if (!std::filesystem::exists(kSmolLM2)) GTEST_SKIP() << "run scripts/fetch_models.sh first";
  auto lone = load(kSmolLM2, 1);
  const std::vector<std::string> prompts = {"The capital of France is", "def add(a, b):", "My favourite food is"};
  std::vector<std::string> expected;
  for (const auto& p : prompts) expected.push_back(lone->generate(greedy_request(*lone, p, 12))->text);
  auto engine = load(kSmolLM2, 6);
  std::vector<std::shared_ptr<Recorder>> recorders;
  for (int copy = 0; copy < 2; ++copy) {
    for (const auto& p : prompts) {
      recorders.push_back(std::make_shared<Recorder>());
      ASSERT_TRUE(engine->begin(greedy_request(*engine, p, 12), recorders.back()));
    }
  }
  run_until_done(*engine);
  for (size_t i = 0; i < recorders.size(); ++i) EXPECT_EQ(recorders[i]->text, expected[i % prompts.size()]);
}

// The prompt admitted first takes each step's prompt budget first, whatever its slot: in slot
// order, a long prompt in a high slot waited for every newer prompt in a lower one.
TEST(Batching, AnOlderPromptTakesTheBudgetBeforeANewerOneInALowerSlot) {
  auto engine = load(kStories, 2, /*n_batch=*/8);
  // Slot 0 is then the one used last: the next prompt goes to slot 1, the one after it to slot 0.
  ASSERT_TRUE(engine->generate(greedy_request(*engine, "The sun was hot", 2)));
  auto older = std::make_shared<Recorder>();
  auto newer = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(
      greedy_request(*engine, "Once upon a time, there was a little girl named Lily. She loved to play outside.", 1),
      older));
  ASSERT_TRUE(engine->begin(
      greedy_request(*engine, "Tom and Sue went to the park with their dog and a big red ball to play with.", 1),
      newer));
  for (int i = 0; i < 200 && !older->result && !newer->result; ++i) engine->step();
  EXPECT_TRUE(older->result) << "the older prompt should finish first";
  EXPECT_FALSE(newer->result) << "the newer prompt took the budget first";
  run_until_done(*engine);
  EXPECT_TRUE(newer->result);
}

}  // namespace
}  // namespace tandem
