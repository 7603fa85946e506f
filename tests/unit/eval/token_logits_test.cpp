// token_logits: parsing and checking of --ids, the order of a top-k list, and that the one-pass
// logits of explicit ids are the engine's own teacher-forced logits, bit for bit.

#include "eval/token_logits.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "eval_test_util.h"
#include "model/model.h"

namespace tandem::eval {
namespace {

TEST(ParseTokenIds, CommasWithOptionalSpaces) {
  auto ids = parse_token_ids("1,2, 30 ,0");
  ASSERT_TRUE(ids) << ids.error();
  EXPECT_EQ(*ids, (std::vector<int32_t>{1, 2, 30, 0}));
}

TEST(ParseTokenIds, RejectsWhatIsNotAnId) {
  EXPECT_NE(parse_token_ids("").error().find("--ids is empty"), std::string::npos);
  EXPECT_NE(parse_token_ids("  ").error().find("--ids is empty"), std::string::npos);
  EXPECT_NE(parse_token_ids("1,,2").error().find("--ids item 1 (\"\")"), std::string::npos);
  EXPECT_NE(parse_token_ids("1,2,").error().find("--ids item 2"), std::string::npos);
  EXPECT_NE(parse_token_ids("7,abc").error().find("--ids item 1 (\"abc\")"), std::string::npos);
  EXPECT_NE(parse_token_ids("3x").error().find("--ids item 0"), std::string::npos);
  EXPECT_NE(parse_token_ids("-1").error().find("not a token id"), std::string::npos);
  EXPECT_NE(parse_token_ids("2147483648").error().find("not a token id"), std::string::npos);
  EXPECT_TRUE(parse_token_ids("2147483647"));
}

TEST(CheckTokenIds, NamesTheItemAndTheVocabulary) {
  const std::vector<int32_t> ids{0, 5, 9, 10};
  auto s = check_token_ids(ids, 10, 100);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("--ids item 3 is token id 10, outside the model's vocabulary of 10 tokens"),
            std::string::npos);
  EXPECT_TRUE(check_token_ids(std::span(ids).first(3), 10, 100));
  EXPECT_FALSE(check_token_ids({}, 10, 100));
  EXPECT_NE(check_token_ids(std::span(ids).first(3), 10, 2).error().find("context is 2 tokens"), std::string::npos);
}

TEST(TopLogits, LargestFirstTiesByAscendingId) {
  const std::vector<float> row{0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  auto top = top_logits(row, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 3);
  EXPECT_EQ(top[2].id, 4);
  EXPECT_EQ(top[2].logit, 1.0f);
  EXPECT_EQ(top_logits(row, 99).size(), row.size());
  EXPECT_TRUE(top_logits(row, 0).empty());
}

TEST(TopLogitsJson, ExactFloatsAndTheIssueShape) {
  const std::vector<int32_t> ids{4, 2};
  const std::vector<std::vector<TopLogit>> positions{{{3, 0.1f}, {1, -2.5f}}, {{0, 1e-8f}}};
  const auto j = nlohmann::json::parse(top_logits_json(ids, 7, positions));
  EXPECT_EQ(j["n_vocab"], 7);
  EXPECT_EQ(j["ids"], nlohmann::json({4, 2}));
  ASSERT_EQ(j["positions"].size(), 2u);
  EXPECT_EQ(j["positions"][0]["argmax"], 3);
  EXPECT_EQ(j["positions"][0]["top"][1][0], 1);
  // Read back as a float, the value is the float that was written.
  EXPECT_EQ(static_cast<float>(j["positions"][0]["top"][0][1].get<double>()), 0.1f);
  EXPECT_EQ(static_cast<float>(j["positions"][1]["top"][0][1].get<double>()), 1e-8f);
}

TEST(TokenLogits, EqualsTheEnginesTeacherForcedLogits) {
  const std::vector<int32_t> ids{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 268, 414};
  auto model = Model::load(test::stories_path());
  ASSERT_TRUE(model) << model.error();
  auto rows = token_logits(**model, ids, 1);
  ASSERT_TRUE(rows) << rows.error();
  auto engine = test::load_engine(test::stories_path(), 64);
  ASSERT_NE(engine, nullptr);
  auto expected = engine->evaluate(ids);
  ASSERT_TRUE(expected) << expected.error();
  ASSERT_EQ(rows->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ((*rows)[i].size(), 512u);
    EXPECT_EQ((*rows)[i], (*expected)[i]) << "position " << i;
  }
}

TEST(TokenLogits, RefusesIdsOutsideTheVocabulary) {
  auto model = Model::load(test::stories_path());
  ASSERT_TRUE(model) << model.error();
  const std::vector<int32_t> ids{1, 512};
  auto rows = token_logits(**model, ids, 1);
  ASSERT_FALSE(rows);
  EXPECT_NE(rows.error().find("token id 512"), std::string::npos);
}

}  // namespace
}  // namespace tandem::eval
