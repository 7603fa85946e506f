// Golden tests: Tandem against llama.cpp's outputs on the same model files
// (../shared/reference/generation and tests/data/golden).

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

const std::string kShared = TANDEM_SHARED_DIR;
const std::string kSmolLM2 = std::string(TANDEM_MODELS_CACHE) + "/SmolLM2-135M-Instruct.Q4_1.gguf";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  return nlohmann::json::parse(in);
}

std::unique_ptr<Engine> load(const std::string& path) {
  EngineOptions options;
  options.model_path = path;
  auto engine = Engine::load(options);
  EXPECT_TRUE(engine) << engine.error();
  return engine ? std::move(engine).value() : nullptr;
}

std::vector<int32_t> greedy(Engine& engine, const std::vector<int32_t>& prompt, int32_t n) {
  GenerationRequest request;
  request.prompt_tokens = prompt;
  request.sampling.temperature = 0.0f;
  request.max_tokens = n;
  auto result = engine.generate(request);
  EXPECT_TRUE(result) << result.error();
  return result ? result->tokens : std::vector<int32_t>{};
}

void check_greedy_reference(const std::string& model, const std::string& reference) {
  auto engine = load(kShared + "/models/" + model);
  ASSERT_NE(engine, nullptr);
  for (const auto& record : read_json(kShared + "/reference/generation/" + reference)) {
    const std::string prompt = record["prompt"];
    const auto expected_prompt = record["prompt_tokens"].get<std::vector<int32_t>>();
    const auto expected = record["greedy_tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(engine->tokenize_prompt(prompt), expected_prompt) << prompt;
    auto tokens = greedy(*engine, expected_prompt, static_cast<int32_t>(expected.size()));
    EXPECT_EQ(tokens, expected) << prompt;
  }
}

TEST(GoldenGeneration, Stories260kGreedyMatchesLlamaCpp) {
  check_greedy_reference("stories260K.gguf", "stories260K.greedy.json");
}

TEST(GoldenGeneration, TinyRandomLlamaGreedyMatchesLlamaCpp) {
  check_greedy_reference("llama-2-tiny-random.gguf", "llama-2-tiny-random.greedy.json");
}

// Teacher forcing: per-position argmax and top-1 log-probabilities against llama.cpp's.
TEST(GoldenGeneration, Stories260kForcedLogprobsMatchLlamaCpp) {
  auto engine = load(kShared + "/models/stories260K.gguf");
  ASSERT_NE(engine, nullptr);
  const auto reference = read_json(kShared + "/reference/generation/stories260K.forced.json");
  const auto tokens = reference["tokens"].get<std::vector<int32_t>>();
  auto rows = engine->evaluate(tokens);
  ASSERT_TRUE(rows) << rows.error();
  const auto& positions = reference["positions"];
  ASSERT_EQ(positions.size(), rows->size());
  size_t agree = 0;
  double worst = 0.0;
  for (size_t i = 0; i < positions.size(); ++i) {
    const std::vector<float>& logits = (*rows)[i];
    const int32_t ref_top = positions[i]["top"][0][0];
    const double ref_logprob = positions[i]["top"][0][1];
    const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
    agree += best == ref_top;
    double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (float l : logits) sum += std::exp(l - max);
    const double logprob = logits[static_cast<size_t>(ref_top)] - max - std::log(sum);
    worst = std::max(worst, std::abs(logprob - ref_logprob));
  }
  const double agreement = static_cast<double>(agree) / static_cast<double>(positions.size());
  EXPECT_GE(agreement, 0.99);
  // The reference rounds to 5 decimals; 1e-3 leaves room for float summation order.
  EXPECT_LT(worst, 1e-3);
  std::printf("argmax agreement %.4f, worst top-1 log-probability difference %.2e\n", agreement, worst);
}

// SmolLM2-135M-Instruct chat prompts: template, tokens and the first 32 greedy tokens.
TEST(GoldenGeneration, SmolLM2ChatMatchesLlamaCpp) {
  if (!std::filesystem::exists(kSmolLM2)) GTEST_SKIP() << "run scripts/fetch_models.sh first";
  auto engine = load(kSmolLM2);
  ASSERT_NE(engine, nullptr);
  const auto records = read_json(std::string(TANDEM_TEST_DATA) + "/golden/smollm2-135m-instruct.greedy.json");
  ASSERT_GE(records.size(), 5u);
  for (const auto& record : records) {
    auto prompt = engine->apply_chat_template(record["messages"].dump(), true);
    ASSERT_TRUE(prompt) << prompt.error();
    EXPECT_EQ(*prompt, record["prompt"].get<std::string>());
    const auto expected_prompt = record["prompt_tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(engine->tokenize_prompt(*prompt), expected_prompt);
    const auto expected = record["greedy_tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(greedy(*engine, expected_prompt, static_cast<int32_t>(expected.size())), expected)
        << record["greedy_text"];
  }
}

}  // namespace
}  // namespace tandem
