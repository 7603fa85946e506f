#pragma once
// What the engine's unit tests (tests/unit/engine) share: the test models' paths, an engine loaded
// with the few options a test varies, an observer that records what one sequence gives, and
// stepping the engine until every sequence has finished.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/engine.h"

namespace tandem::test {

// The tiny story model every machine has (../shared), and the demo model scripts/fetch_models.sh
// fetches (a test that needs it skips without it).
inline std::string stories_model() { return std::string(TANDEM_SHARED_DIR) + "/models/stories260K.gguf"; }
inline std::string smollm2_model() {
  return std::string(TANDEM_MODELS_CACHE) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// The options a test varies; two threads, the rest as EngineOptions has them.
struct EngineShape {
  int32_t n_seq = 1;
  int32_t n_ctx = 256;
  std::optional<int32_t> n_batch;  // prompt tokens per step; EngineOptions' default when absent
};

// A test failure and nullptr when the model does not load.
inline std::unique_ptr<Engine> load_engine(const std::string& model_path, const EngineShape& shape = {}) {
  EngineOptions o;
  o.model_path = model_path;
  o.n_ctx = shape.n_ctx;
  o.n_seq = shape.n_seq;
  if (shape.n_batch) o.n_batch = *shape.n_batch;
  o.n_threads = 2;
  auto e = Engine::load(o);
  EXPECT_TRUE(e) << e.error();
  return e ? std::move(e).value() : nullptr;
}

// A request for n tokens of greedy continuation of a prompt.
inline GenerationRequest greedy_request(Engine& engine, const std::string& prompt, int32_t n) {
  GenerationRequest r;
  r.prompt_tokens = engine.tokenize_prompt(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = n;
  return r;
}

// Records one sequence: its text as it came, each token's logprobs (when asked for), and the
// result. Set cancel_now to cancel before the next step, or cancel_after_pieces to cancel from
// the text callback.
class Recorder : public SequenceObserver {
 public:
  bool on_text(std::string_view piece) override {
    text += piece;
    ++pieces;
    return pieces < cancel_after_pieces;
  }
  void on_token(const TokenLogprobs& token) override { tokens.push_back(token); }
  void on_finish(const GenerationResult& r) override { result = r; }
  bool cancelled() const override { return cancel_now; }

  std::string text;
  int pieces = 0;
  std::vector<TokenLogprobs> tokens;
  int cancel_after_pieces = 1 << 30;
  bool cancel_now = false;
  std::optional<GenerationResult> result;
};

// Steps until no sequence is active (a test failure if max_steps go by first).
inline void run_until_done(Engine& engine, int max_steps = 10000) {
  for (int i = 0; i < max_steps && engine.n_active() > 0; ++i) engine.step();
  ASSERT_EQ(engine.n_active(), 0);
}

}  // namespace tandem::test
