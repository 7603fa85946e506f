// llama.cpp's tokenizer test vectors (../shared/reference/tokenizer/): every string must give
// exactly the reference ids (add_special=false, parse_special=false, as test-tokenizer-0 runs).

#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace tandem {
namespace {

std::string param_name(const ::testing::TestParamInfo<std::string>& param) {
  std::string name = param.param;
  for (char& c : name) c = (c == '-') ? '_' : c;
  return name;
}

class VocabVectors : public ::testing::TestWithParam<std::string> {};

std::string ids_to_string(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    out += ' ';
    out += std::to_string(id);
  }
  return out;
}

TEST_P(VocabVectors, MatchLlamaCpp) {
  const std::string base = test::reference_dir() + "ggml-vocab-" + GetParam() + ".gguf";
  if (!test::file_exists(base)) GTEST_SKIP() << base << " is absent";
  const Tokenizer* tok = test::load_tokenizer(base);
  ASSERT_NE(tok, nullptr);
  const std::vector<std::string> inputs = test::read_test_strings(base + ".inp");
  const std::vector<std::vector<int32_t>> expected = test::read_expected_ids(base + ".out");
  ASSERT_EQ(inputs.size(), 46u);
  ASSERT_GE(expected.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t> got = tok->encode(inputs[i], false, false);
    EXPECT_EQ(ids_to_string(got), ids_to_string(expected[i])) << "string #" << i << ": \"" << inputs[i] << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, VocabVectors,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-llm", "falcon", "refact",
                                           "bert-bge"),
                         param_name);

// Lossless vocabularies give the text back.
class VocabRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabRoundTrip, DecodeEncodeIsIdentity) {
  const std::string base = test::reference_dir() + "ggml-vocab-" + GetParam() + ".gguf";
  if (!test::file_exists(base)) GTEST_SKIP() << base << " is absent";
  const Tokenizer* tok = test::load_tokenizer(base);
  ASSERT_NE(tok, nullptr);
  for (const std::string& text : test::read_test_strings(test::reference_dir() + "ggml-vocab-gpt-2.gguf.inp")) {
    const std::vector<int32_t> ids = tok->encode(text, false, false);
    EXPECT_EQ(tok->decode(ids), text);
  }
}

INSTANTIATE_TEST_SUITE_P(Reference, VocabRoundTrip,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-llm", "falcon", "refact",
                                           "gpt-neox", "baichuan"),
                         param_name);

}  // namespace
}  // namespace tandem
