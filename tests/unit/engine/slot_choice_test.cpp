// Which idle slot a request overwrites: distinct prompts that share only a head (a chat's system
// prompt) spread over the slots, so each is still cached when it comes again; a prompt that
// continues a slot's cache (the same prompt, the next turn) extends that slot.

#include <gtest/gtest.h>

#include "../support/engine_harness.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

using test::greedy_request;

const std::string kSystem = "Once upon a time, there was a little girl named Lily. She loved to play outside.";
const std::vector<std::string> kEndings = {" One day", " The sun was hot", " Tom and Sue went to the park.",
                                           " A big red ball"};

// Before, every prompt took the slot holding the longest match, the system prompt, and evicted the
// previous prompt there: asked again, each reused the system prompt only.
TEST(SlotChoice, DistinctPromptsWithACommonHeadStayCachedSideBySide) {
  auto engine = test::load_engine(test::stories_model(), {.n_seq = 4, .n_ctx = 256});
  ASSERT_TRUE(engine);
  std::vector<std::string> first_texts;
  for (const auto& ending : kEndings) {
    auto r = engine->generate(greedy_request(*engine, kSystem + ending, 8));
    ASSERT_TRUE(r) << r.error();
    first_texts.push_back(r->text);
  }
  for (size_t i = 0; i < kEndings.size(); ++i) {
    const GenerationRequest request = greedy_request(*engine, kSystem + kEndings[i], 8);
    auto r = engine->generate(request);
    ASSERT_TRUE(r) << r.error();
    // All but the last prompt token, which is always computed again for its logits.
    EXPECT_EQ(r->n_reused_tokens, static_cast<int32_t>(request.prompt_tokens.size()) - 1) << kEndings[i];
    EXPECT_EQ(r->text, first_texts[i]);
  }
}

// A new prompt with the common head still reuses it (copied from another slot) wherever it lands.
TEST(SlotChoice, ANewPromptStillReusesTheCommonHead) {
  auto engine = test::load_engine(test::stories_model(), {.n_seq = 2, .n_ctx = 256});
  ASSERT_TRUE(engine);
  const int32_t n_head = static_cast<int32_t>(engine->tokenize_prompt(kSystem).size());
  ASSERT_GT(n_head, 20);  // long enough to be worth a copy
  for (size_t i = 0; i < kEndings.size(); ++i) {
    auto r = engine->generate(greedy_request(*engine, kSystem + kEndings[i], 8));
    ASSERT_TRUE(r) << r.error();
    if (i > 0) {
      EXPECT_GE(r->n_reused_tokens, n_head - 1) << kEndings[i];
    }
  }
}

}  // namespace
}  // namespace tandem
