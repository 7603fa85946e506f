// GenerationRequest::visible_control_tokens through the real engine: a control token named there
// gives its text in the generated text (as a tool-call marker must, for the server's reply
// parser); unnamed, it gives none. stories260K has no tool-call marker, so its <s> (a control
// token that does not end generation) stands in, forced with logit_bias.

#include <gtest/gtest.h>

#include <optional>

#include "../support/engine_harness.h"
#include "tandem/engine.h"
#include "tokenizer/tokenizer.h"

namespace tandem {
namespace {

// Three tokens, every one of them <s> (logit_bias), and the text they gave.
std::string generate_bos(Engine& engine, std::vector<std::string> visible) {
  GenerationRequest r;
  r.prompt_tokens = engine.tokenize_prompt("Once upon a time");
  r.sampling.temperature = 0.0f;
  r.sampling.logit_bias = {{engine.tokenizer().bos_id(), 100.0f}};
  r.max_tokens = 3;
  r.visible_control_tokens = std::move(visible);
  auto recorder = std::make_shared<test::Recorder>();
  EXPECT_TRUE(engine.begin(r, recorder));
  for (int i = 0; i < 100 && engine.n_active() > 0; ++i) engine.step();
  EXPECT_TRUE(recorder->result);
  if (recorder->result) {
    EXPECT_EQ(recorder->result->tokens, std::vector<int32_t>(3, engine.tokenizer().bos_id()));
    EXPECT_EQ(recorder->result->text, recorder->text);
  }
  return recorder->text;
}

TEST(VisibleControlTokens, OnlyTheNamedControlTokensGiveText) {
  auto engine = test::load_engine(test::stories_model(), {.n_ctx = 64});
  ASSERT_TRUE(engine);
  ASSERT_TRUE(engine->tokenizer().is_control(engine->tokenizer().bos_id()));

  EXPECT_EQ(generate_bos(*engine, {}), "");
  EXPECT_EQ(generate_bos(*engine, {"</s>", "[TOOL_CALLS]"}), "");  // others named: <s> still silent
  EXPECT_EQ(generate_bos(*engine, {"<s>"}), "<s><s><s>");
}

}  // namespace
}  // namespace tandem
