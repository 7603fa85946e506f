// A hybrid model (qwen3next: gated DeltaNet layers with a recurrent state beside attention
// layers) through the continuous-batching engine: a request that continues exactly what a slot
// holds reuses its state, one that shares only part of it recomputes from scratch (a recurrent
// state cannot be cut back), requests that arrive together with the same prompt answer as alone
// whether or not they copy a sibling's state, cancellation leaves nothing behind, and every answer is the lone answer.

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../model/tiny_qwen3next.h"
#include "../support/engine_harness.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

using test::Recorder;
using test::run_until_done;

// The tiny random-weight qwen3next model with stories260K's vocabulary, written once.
const std::string& model_path() {
  static const std::string path = test::write_qwen3next("qwen3next_vocab.gguf", "", 0, test::stories_model());
  return path;
}

std::unique_ptr<Engine> load(int32_t n_seq, int32_t n_batch = 64) {
  return test::load_engine(model_path(), {.n_seq = n_seq, .n_batch = n_batch});
}

GenerationRequest request(std::vector<int32_t> prompt, int32_t n) {
  GenerationRequest r;
  r.prompt_tokens = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = n;
  return r;
}

GenerationResult alone(const std::vector<int32_t>& prompt, int32_t n) {
  auto lone = load(1);
  if (!lone) return {};
  auto r = lone->generate(request(prompt, n));
  EXPECT_TRUE(r) << r.error();
  return r ? *r : GenerationResult{};
}

const std::vector<int32_t> kPrompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 300, 301, 302, 303, 304, 305,
                                      306, 307, 308, 309, 310, 311, 312, 313, 314};

TEST(HybridState, AContinuationReusesTheWholeStateAndAPartialPrefixNothing) {
  auto engine = load(1);
  ASSERT_NE(engine, nullptr);
  // One generated token: the slot then holds exactly the prompt (the token is not fed back).
  ASSERT_TRUE(engine->generate(request(kPrompt, 1)));

  std::vector<int32_t> longer = kPrompt;
  longer.insert(longer.end(), {400, 401, 402});
  auto continued = engine->generate(request(longer, 8));
  ASSERT_TRUE(continued);
  EXPECT_EQ(continued->n_reused_tokens, static_cast<int32_t>(kPrompt.size()));
  EXPECT_EQ(continued->tokens, alone(longer, 8).tokens);

  // Shares 10 tokens with what the slot holds: keys and values could be cut back, the recurrent
  // state cannot, so nothing is reused.
  std::vector<int32_t> forked(longer.begin(), longer.begin() + 10);
  forked.insert(forked.end(), {450, 451, 452, 453});
  auto fork = engine->generate(request(forked, 8));
  ASSERT_TRUE(fork);
  EXPECT_EQ(fork->n_reused_tokens, 0);
  EXPECT_EQ(fork->tokens, alone(forked, 8).tokens);
}

TEST(HybridState, ConcurrentIdenticalRequestsGiveTheLoneAnswer) {
  // n_batch 8: prompts take several steps; n_batch 80: prompt pieces are cut at chunk boundaries
  // (150 tokens: 64 + 64 + 22, or less beside decoding sequences).
  std::vector<int32_t> long_prompt = kPrompt;
  for (int32_t i = 0; long_prompt.size() < 150; ++i) long_prompt.push_back(260 + (i * 7) % 200);
  for (const auto& [n_batch, prompt] : {std::pair{8, kPrompt}, std::pair{80, long_prompt}}) {
    auto engine = load(4, n_batch);
    ASSERT_NE(engine, nullptr);
    const GenerationResult lone = alone(prompt, 12);
    std::vector<std::shared_ptr<Recorder>> runs;
    for (int i = 0; i < 4; ++i) {
      runs.push_back(std::make_shared<Recorder>());
      ASSERT_TRUE(engine->begin(request(prompt, 12), runs.back()));
      engine->step();  // staggered: each arrives while the others read or decode
    }
    run_until_done(*engine);
    for (const auto& r : runs) {
      ASSERT_TRUE(r->result);
      // Some copy a sibling's whole state when it stopped at a prefix of the prompt (mid-prompt,
      // between two pieces), which restores exactly; the answer is the same either way.
      EXPECT_EQ(r->result->tokens, lone.tokens) << "n_batch " << n_batch;
      EXPECT_LT(r->result->n_reused_tokens, static_cast<int32_t>(prompt.size()));
    }
  }
}

TEST(HybridState, ACancelledSequenceLeavesAUsableSlot) {
  auto engine = load(1, /*n_batch=*/8);
  ASSERT_NE(engine, nullptr);
  auto cancelled = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(request(kPrompt, 20), cancelled));
  engine->step();
  engine->step();
  cancelled->cancel_now = true;
  run_until_done(*engine);
  ASSERT_TRUE(cancelled->result);
  EXPECT_EQ(cancelled->result->finish, FinishReason::kCancelled);
  // The slot held part of the prompt: the same prompt again starts over and answers as alone.
  auto again = engine->generate(request(kPrompt, 10));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tokens, alone(kPrompt, 10).tokens);
}

}  // namespace
}  // namespace tandem
