#include "grammar/grammar_matcher.h"

#include <gtest/gtest.h>

#include <random>

#include "grammar_test_util.h"

namespace tandem::grammar {
namespace {

std::vector<int32_t> allowed_ids(GrammarMatcher& m, int32_t n_vocab) {
  std::vector<uint64_t> mask(mask_words(n_vocab));
  m.fill_mask(mask);
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < n_vocab; ++id) {
    if (mask_allows(mask, id)) ids.push_back(id);
  }
  return ids;
}

// The mask must agree with accept_token on every token: the trie walk and the byte-by-byte
// matcher are two routes to the same answer.
void expect_mask_agrees(const std::shared_ptr<const Grammar>& g, const std::string& prefix) {
  auto trie = test::toy_trie();
  GrammarMatcher m(g, trie);
  ASSERT_TRUE(m.accept_bytes(prefix)) << prefix;
  std::vector<uint64_t> mask(mask_words(trie->n_vocab()));
  m.fill_mask(mask);
  for (int32_t id = 0; id < trie->n_vocab(); ++id) {
    GrammarMatcher probe(g, trie);
    ASSERT_TRUE(probe.accept_bytes(prefix));
    EXPECT_EQ(mask_allows(mask, id), probe.accept_token(id)) << "prefix " << prefix << " token " << id << " \""
                                                              << trie->text(id) << "\"";
  }
}

TEST(GrammarMatcher, MaskAgreesWithAcceptEverywhere) {
  auto g = test::schema_grammar(R"({"type":"object","properties":{"name":{"type":"string","maxLength":4},
      "age":{"type":"integer","minimum":0,"maximum":120},"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":2}},
      "required":["name"]})");
  const std::string text = R"({"name": "Jo\u00e9", "age":12,"tags":["a", "b"]})";
  for (size_t n = 0; n <= text.size(); ++n) expect_mask_agrees(g, text.substr(0, n));
}

// Whole subtrees of plain tokens are allowed without a walk when the string has room for them:
// the room must be counted exactly.
TEST(GrammarMatcher, PlainTokensFitTheRoomLeftInAString) {
  auto trie = test::toy_trie();
  auto id_of = [&](const std::string& text) {
    for (int32_t id = 0; id < trie->n_vocab(); ++id) {
      if (trie->text(id) == text) return id;
    }
    return -1;
  };
  std::vector<uint64_t> mask(mask_words(trie->n_vocab()));
  for (uint32_t room = 2; room <= 5; ++room) {
    GrammarMatcher m(test::schema_grammar(R"({"type":"string","maxLength":)" + std::to_string(room) + "}"), trie);
    ASSERT_TRUE(m.accept_bytes("\""));
    m.fill_mask(mask);
    EXPECT_EQ(mask_allows(mask, id_of("age")), room >= 3) << room;
    EXPECT_EQ(mask_allows(mask, id_of("name")), room >= 4) << room;
    EXPECT_EQ(mask_allows(mask, id_of("false")), room >= 5) << room;
    ASSERT_TRUE(m.accept_bytes("a"));
    m.fill_mask(mask);
    EXPECT_EQ(mask_allows(mask, id_of("name")), room >= 5) << room;
  }
}

TEST(GrammarMatcher, EndOfGenerationOnlyWhenComplete) {
  auto trie = test::toy_trie();
  const int32_t end = trie->n_vocab() - 1;
  GrammarMatcher m(test::schema_grammar(R"({"type":"integer"})"), trie);
  std::vector<uint64_t> mask(mask_words(trie->n_vocab()));
  m.fill_mask(mask);
  EXPECT_FALSE(mask_allows(mask, end));
  EXPECT_FALSE(m.accept_token(end));
  ASSERT_TRUE(m.accept_bytes("12"));
  m.fill_mask(mask);
  EXPECT_TRUE(mask_allows(mask, end));  // complete, and more digits may still follow
  EXPECT_TRUE(mask_allows(mask, '3' - 0x20));
  EXPECT_TRUE(m.accept_token(end));
}

TEST(GrammarMatcher, CompleteWithNothingToFollowForcesTheEnd) {
  auto trie = test::toy_trie();
  GrammarMatcher m(test::schema_grammar(R"({"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]})"),
                   trie);
  ASSERT_TRUE(m.accept_bytes(R"({"a":true})"));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.can_continue());
  EXPECT_EQ(allowed_ids(m, trie->n_vocab()), std::vector<int32_t>{trie->n_vocab() - 1});
}

TEST(GrammarMatcher, ControlTokensAreNeverAllowed) {
  auto trie = test::toy_trie();
  GrammarMatcher m(json_object_grammar(), trie);
  const int32_t control = trie->n_vocab() - 2;
  EXPECT_FALSE(m.accept_token(control));
  for (int32_t id : allowed_ids(m, trie->n_vocab())) EXPECT_NE(id, control);
}

TEST(GrammarMatcher, RefusedTokenLeavesTheStateAlone) {
  auto trie = test::toy_trie();
  GrammarMatcher m(test::schema_grammar(R"({"enum":["yes","no"]})"), trie);
  ASSERT_TRUE(m.accept_bytes("\"y"));
  EXPECT_FALSE(m.accept_bytes("o"));
  EXPECT_TRUE(m.accept_bytes("es\""));
  EXPECT_TRUE(m.is_complete());
}

TEST(GrammarMatcher, RandomWalksOfAllowedTokensStayValid) {
  // Always picking an allowed token must keep the text a prefix, and a completed text must
  // parse as JSON: the property the server relies on.
  auto trie = test::toy_trie();
  auto g = test::schema_grammar(R"({"type":"object","properties":{"s":{"type":"string","maxLength":5},
      "n":{"type":"number"},"l":{"type":"array","items":{"type":"boolean"},"maxItems":3},
      "o":{"anyOf":[{"type":"null"},{"type":"object","properties":{"d":{"type":"string","format":"date"}},"required":["d"]}]}},
      "required":["s","n","l","o"]})");
  std::mt19937 rng(7);
  std::vector<uint64_t> mask(mask_words(trie->n_vocab()));
  int completed = 0;
  for (int run = 0; run < 200; ++run) {
    GrammarMatcher m(g, trie);
    std::string text;
    for (int step = 0; step < 200; ++step) {
      const size_t n = m.fill_mask(mask);
      ASSERT_GT(n, 0u);
      std::vector<int32_t> ids;
      for (int32_t id = 0; id < trie->n_vocab(); ++id) {
        if (mask_allows(mask, id)) ids.push_back(id);
      }
      const int32_t pick = ids[rng() % ids.size()];
      ASSERT_TRUE(m.accept_token(pick));
      if (pick == trie->n_vocab() - 1) break;
      text += trie->text(pick);
    }
    if (!m.is_complete()) continue;
    ++completed;
    const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << text;
    EXPECT_TRUE(parsed.contains("s") && parsed.contains("n") && parsed.contains("l") && parsed.contains("o")) << text;
  }
  EXPECT_GT(completed, 0);
}

TEST(GrammarMatcher, GrammarBuilderRefusesLoops) {
  GrammarBuilder b;
  auto g = std::move(b).build(repeat(optional(literal("a")), 0, kUnbounded));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().find("loop"), std::string::npos);
}

}  // namespace
}  // namespace tandem::grammar
