#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "eval_test_util.h"
#include "tandem/engine.h"
#include "tokenizer/tokenizer.h"

namespace tandem::eval {
namespace {

using test::corpus;

std::unique_ptr<Engine> load(const std::string& path, int32_t n_ctx) { return test::load_engine(path, n_ctx); }

TEST(Chunks, SplitLikeLlamaPerplexity) {
  auto engine = load(test::stories_path(), 64);
  auto chunks = make_chunks(engine->tokenizer(), corpus(), 64, -1);
  ASSERT_TRUE(chunks) << chunks.error();
  EXPECT_EQ(chunks->tokens.front(), engine->tokenizer().bos_id());
  EXPECT_EQ(chunks->n_chunks, static_cast<int32_t>(chunks->tokens.size() / 64));
  EXPECT_EQ(chunks->first, 32);
  EXPECT_EQ(chunks->scored_per_chunk(), 31);
  const std::vector<int32_t> second = chunks->input(1);
  ASSERT_EQ(second.size(), 64u);
  EXPECT_EQ(second[0], engine->tokenizer().bos_id());  // BOS replaces the chunk's first token
  EXPECT_EQ(second[1], chunks->tokens[65]);
  EXPECT_EQ(chunks->target(1, 40), chunks->tokens[64 + 41]);
  auto limited = make_chunks(engine->tokenizer(), corpus(), 64, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->n_chunks, 3);
}

TEST(Chunks, RefuseATextShorterThanTwoContexts) {
  auto engine = load(test::stories_path(), 64);
  auto chunks = make_chunks(engine->tokenizer(), "Once upon a time.", 64, -1);
  ASSERT_FALSE(chunks);
  EXPECT_NE(chunks.error().find("a context of 64 needs at least 128"), std::string::npos) << chunks.error();
}

TEST(Perplexity, MatchesADirectComputation) {
  constexpr int32_t kCtx = 128;
  auto engine = load(test::stories_path(), kCtx);
  auto chunks = make_chunks(engine->tokenizer(), corpus(), kCtx, 4);
  ASSERT_TRUE(chunks) << chunks.error();
  auto r = perplexity(*engine, *chunks);
  ASSERT_TRUE(r) << r.error();

  // Directly: softmax in long double over the engine's logits, mean of -log p, and the sample
  // standard error of the mean.
  std::vector<double> nll;
  for (int32_t c = 0; c < 4; ++c) {
    std::vector<int32_t> input(chunks->tokens.begin() + c * kCtx, chunks->tokens.begin() + (c + 1) * kCtx);
    input[0] = engine->tokenizer().bos_id();
    auto logits = engine->evaluate(input);
    ASSERT_TRUE(logits);
    for (int32_t pos = kCtx / 2; pos < kCtx - 1; ++pos) {
      const std::vector<float>& row = (*logits)[static_cast<size_t>(pos)];
      long double z = 0;
      for (float v : row) z += std::exp(static_cast<long double>(v));
      const int32_t next = chunks->tokens[static_cast<size_t>(c * kCtx + pos + 1)];
      nll.push_back(static_cast<double>(std::log(z) - row[static_cast<size_t>(next)]));
    }
  }
  double mean = 0.0;
  for (double v : nll) mean += v;
  mean /= static_cast<double>(nll.size());
  double var = 0.0;
  for (double v : nll) var += (v - mean) * (v - mean);
  var /= static_cast<double>(nll.size() - 1);
  const double ppl = std::exp(mean);
  EXPECT_EQ(r->n_scored, static_cast<int64_t>(nll.size()));
  EXPECT_EQ(r->n_scored, 4 * 63);
  EXPECT_NEAR(r->ppl, ppl, 1e-7 * ppl);  // logits - max is taken in float, as llama.cpp does
  EXPECT_NEAR(r->ppl_stderr, std::sqrt(var / static_cast<double>(nll.size())) * ppl, 1e-6 * r->ppl_stderr);
  ASSERT_EQ(r->running_ppl.size(), 4u);
  EXPECT_DOUBLE_EQ(r->running_ppl.back(), r->ppl);
  // The TinyStories model knows this kind of text.
  EXPECT_LT(r->ppl, 8.0);
}

TEST(MeanAccumulator, StandardErrorIsLlamaCppsFormula) {
  MeanAccumulator m;
  for (double v : {1.0, 2.0, 3.0, 4.0}) m.add(v);
  EXPECT_DOUBLE_EQ(m.mean(), 2.5);
  // E[x^2] - E[x]^2 = 7.5 - 6.25 = 1.25; sqrt(1.25 / 3)
  EXPECT_NEAR(m.standard_error(), std::sqrt(1.25 / 3.0), 1e-15);
}

}  // namespace
}  // namespace tandem::eval
