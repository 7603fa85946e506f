// The logprobs and timings objects of OpenAI-shaped responses (issue 17).

#include "openai/response_builder.h"

#include <gtest/gtest.h>

#include <limits>

namespace tandem::openai {
namespace {

using nlohmann::json;

TokenLogprobs token(int32_t id, std::string text, float logprob, std::vector<TokenAlternative> top = {}) {
  return TokenLogprobs{TokenAlternative{id, std::move(text), logprob}, std::move(top)};
}

TEST(ResponseBuilder, ChatLogprobsHaveOpenAIsShape) {
  const std::vector<TokenLogprobs> tokens = {
      token(5, "Hi", -0.5f, {{5, "Hi", -0.5f}, {9, "<|im_end|>", -1.25f}}),
      token(7, "\xC3", -std::numeric_limits<float>::infinity()),  // half of "é", forced though banned
  };
  const json j = chat_logprobs_json(tokens);
  ASSERT_EQ(j["content"].size(), 2u);
  EXPECT_TRUE(j["refusal"].is_null());
  const json& first = j["content"][0];
  EXPECT_EQ(first["token"], "Hi");
  EXPECT_FLOAT_EQ(first["logprob"].get<float>(), -0.5f);
  EXPECT_EQ(first["bytes"], json::array({72, 105}));
  ASSERT_EQ(first["top_logprobs"].size(), 2u);
  EXPECT_EQ(first["top_logprobs"][1]["token"], "<|im_end|>");
  EXPECT_FLOAT_EQ(first["top_logprobs"][1]["logprob"].get<float>(), -1.25f);
  const json& second = j["content"][1];
  EXPECT_EQ(second["bytes"], json::array({0xC3}));
  EXPECT_EQ(second["logprob"].get<double>(), -9999.0);  // JSON has no -inf
  EXPECT_NE(dump(j).find("\xEF\xBF\xBD"), std::string::npos);  // the half character is replaced, not thrown on
}

TEST(ResponseBuilder, TextLogprobsCountOffsetsAcrossCalls) {
  size_t offset = 0;
  const std::vector<TokenLogprobs> a = {token(1, "Par", -0.1f, {{1, "Par", -0.1f}, {2, "Lon", -3.0f}}),
                                        token(3, "is", -0.2f)};
  const json first = text_logprobs_json(a, offset);
  EXPECT_EQ(first["tokens"], json::array({"Par", "is"}));
  EXPECT_EQ(first["text_offset"], json::array({0, 3}));
  EXPECT_FLOAT_EQ(first["top_logprobs"][0]["Lon"].get<float>(), -3.0f);
  EXPECT_TRUE(first["top_logprobs"][1].empty());
  EXPECT_EQ(offset, 5u);
  const std::vector<TokenLogprobs> b = {token(4, ".", -0.3f)};
  EXPECT_EQ(text_logprobs_json(b, offset)["text_offset"], json::array({5}));
}

TEST(ResponseBuilder, TimingsAreLlamaCppsAndNeverDivideByZero) {
  const json t = timings_json(Timings{10, 4, 20.0, 5, 50.0});
  EXPECT_EQ(t["prompt_n"], 10);
  EXPECT_EQ(t["cache_n"], 4);
  EXPECT_DOUBLE_EQ(t["prompt_per_second"].get<double>(), 500.0);
  EXPECT_DOUBLE_EQ(t["prompt_per_token_ms"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(t["predicted_per_second"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(t["predicted_per_token_ms"].get<double>(), 10.0);
  const json zero = timings_json(Timings{0, 0, 0.0, 0, 0.0});
  EXPECT_EQ(zero["predicted_per_second"].get<double>(), 0.0);
  EXPECT_EQ(zero["prompt_per_token_ms"].get<double>(), 0.0);
  EXPECT_NE(dump(zero).find("\"predicted_per_second\":0.0"), std::string::npos);
}

}  // namespace
}  // namespace tandem::openai
