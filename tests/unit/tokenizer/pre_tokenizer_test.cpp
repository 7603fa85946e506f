// Pre-tokenizer scanners against the original split patterns, as evaluated by Python's `regex`
// module (tests/data/tokenizer/make_pre_tokenizer_splits.py wrote the expectations).

#include "tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer_test_util.h"

namespace tandem {
namespace {

std::vector<std::string> split(const PreTokenizer& pre, std::string_view text) {
  std::vector<std::string> out;
  for (const auto& [begin, end] : pre_tokenize(pre, text)) out.emplace_back(text.substr(begin, end - begin));
  return out;
}

TEST(PreTokenizer, MatchesOriginalPatterns) {
  const std::string path = std::string(TANDEM_TEST_DATA) + "/tokenizer/pre_tokenizer_splits.json";
  const auto data = nlohmann::json::parse(test::read_file(path));
  const auto& families = data.at("families");
  ASSERT_GE(families.size(), 16u);
  for (const auto& [name, cases] : families.items()) {
    const std::optional<PreTokenizer> pre = find_pre_tokenizer(name);
    ASSERT_TRUE(pre.has_value()) << name;
    for (const auto& c : cases) {
      const std::string text = c.at(0).get<std::string>();
      EXPECT_EQ(split(*pre, text), c.at(1).get<std::vector<std::string>>()) << name << ": \"" << text << "\"";
    }
  }
}

TEST(PreTokenizer, FamilyNames) {
  EXPECT_EQ(find_pre_tokenizer("llama-bpe")->name, "llama3");
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->ignore_merges);
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->add_bos);
  EXPECT_EQ(find_pre_tokenizer("smollm")->name, "starcoder");
  EXPECT_EQ(find_pre_tokenizer("command-r")->name, "starcoder");
  EXPECT_EQ(find_pre_tokenizer("deepseek-r1-qwen")->name, "qwen2");
  EXPECT_EQ(find_pre_tokenizer("")->name, "default");
  EXPECT_EQ(find_pre_tokenizer("llama4")->name, "gpt-4o");
  EXPECT_TRUE(find_pre_tokenizer("chatglm-bpe")->no_bos);
  for (std::string_view name : {"gpt-2", "refact", "starcoder", "smaug-bpe", "poro-chat", "jais", "tekken",
                                "viking", "bloom", "gpt3-finnish", "exaone", "chameleon", "minerva-7b",
                                "deepseek-v3", "deepseek-coder", "deepseek-llm", "falcon", "olmo", "dbrx", "mpt"}) {
    EXPECT_TRUE(find_pre_tokenizer(name).has_value()) << name;
  }
  EXPECT_FALSE(find_pre_tokenizer("not-a-model").has_value());
}

TEST(PreTokenizer, CoversInputAndKeepsInvalidBytes) {
  const PreTokenizer pre = *find_pre_tokenizer("llama3");
  const std::string text = "ab\xff\xfe cd\xe4\xb8 12345";
  const auto ranges = pre_tokenize(pre, text);
  uint32_t pos = 0;
  for (const auto& [begin, end] : ranges) {
    EXPECT_EQ(begin, pos);
    EXPECT_LT(begin, end);
    pos = end;
  }
  EXPECT_EQ(pos, text.size());
  EXPECT_EQ(split(pre, text), (std::vector<std::string>{"ab", "\xff\xfe", " cd", "\xe4\xb8", " ", "123", "45"}));
  EXPECT_TRUE(pre_tokenize(pre, "").empty());
}

}  // namespace
}  // namespace tandem
