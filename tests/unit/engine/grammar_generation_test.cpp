// Generation under a grammar (SamplingParams::grammar): a tiny story model that knows nothing of
// JSON still writes only what the schema allows, stops as soon as the text is complete, and does
// so beside an unconstrained sequence in the same batch.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../support/engine_harness.h"
#include "grammar/json_schema_to_grammar.h"
#include "tandem/engine.h"

namespace tandem {
namespace {

using test::Recorder;

std::unique_ptr<Engine> load(int32_t n_seq) { return test::load_engine(test::stories_model(), {.n_seq = n_seq}); }

GenerationRequest request(Engine& engine, const char* schema, uint64_t seed) {
  GenerationRequest r;
  r.prompt_tokens = engine.tokenize_prompt("Once upon a time");
  r.sampling.temperature = 1.0f;
  r.sampling.seed = seed;
  r.max_tokens = 120;
  if (schema) {
    auto g = grammar::json_schema_grammar(nlohmann::ordered_json::parse(schema));
    EXPECT_TRUE(g) << g.error();
    r.sampling.grammar = std::move(g).value();
  }
  return r;
}

TEST(GrammarGeneration, OutputFollowsTheSchemaAndStopsWhenComplete) {
  auto engine = load(1);
  ASSERT_TRUE(engine);
  const char* schema = R"({"type":"object","properties":{"mood":{"enum":["happy","sad"]},
      "age":{"type":"integer","minimum":1,"maximum":9},"name":{"type":"string","maxLength":6}},
      "required":["mood","age","name"],"additionalProperties":false})";
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    auto result = engine->generate(request(*engine, schema, seed));
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(result->finish, FinishReason::kStop) << result->text;
    const auto value = nlohmann::json::parse(result->text, nullptr, false);
    ASSERT_FALSE(value.is_discarded()) << result->text;
    EXPECT_TRUE(value["mood"] == "happy" || value["mood"] == "sad") << result->text;
    EXPECT_GE(value["age"].get<int>(), 1);
    EXPECT_LE(value["age"].get<int>(), 9);
    EXPECT_LE(value["name"].get<std::string>().size(), 6u * 4) << result->text;
  }
}

TEST(GrammarGeneration, ConstrainedAndFreeSequencesShareABatch) {
  auto engine = load(2);
  ASSERT_TRUE(engine);
  auto constrained = std::make_shared<Recorder>();
  auto free = std::make_shared<Recorder>();
  ASSERT_TRUE(engine->begin(request(*engine, R"({"enum":["yes","no"]})", 3), constrained));
  ASSERT_TRUE(engine->begin(request(*engine, nullptr, 3), free));
  test::run_until_done(*engine, 1000);
  ASSERT_TRUE(constrained->result && free->result);
  EXPECT_TRUE(constrained->text == "\"yes\"" || constrained->text == "\"no\"") << constrained->text;
  EXPECT_EQ(constrained->result->finish, FinishReason::kStop);
  EXPECT_GT(free->text.size(), 10u);  // the free one writes its story as before
}

}  // namespace
}  // namespace tandem
