// Tokenizer behaviour beyond the reference vectors: BOS/EOS flags, special tokens, the real
// models in ../shared/models, hostile input, and vocabularies built in memory.

#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "gguf/gguf_writer.h"
#include "tokenizer_test_util.h"

namespace tandem {
namespace {

using Ids = std::vector<int32_t>;

#define REQUIRE_VOCAB(var, name)                                                        \
  const Tokenizer* var = test::load_vocab(name);                                        \
  if (var == nullptr) GTEST_SKIP() << "ggml-vocab-" << name << ".gguf is absent"

#define REQUIRE_MODEL(var, file)                                                        \
  const Tokenizer* var = test::load_tokenizer(test::models_dir() + file);               \
  if (var == nullptr) GTEST_SKIP() << file << " is absent"

TEST(Tokenizer, SentencePieceFlagsAndIds) {
  REQUIRE_VOCAB(tok, "llama-spm");
  EXPECT_EQ(tok->model(), TokenizerModel::kSentencePiece);
  EXPECT_EQ(tok->n_vocab(), 32000);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->eot_id(), -1);
  EXPECT_EQ(tok->unk_id(), 0);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_FALSE(tok->add_eos());
  EXPECT_EQ(tok->encode("Hello", true, false), (Ids{1, 15043}));
  EXPECT_EQ(tok->encode("Hello", false, false), (Ids{15043}));
  EXPECT_EQ(tok->encode("", true, false), (Ids{1}));
  EXPECT_EQ(tok->encode("", false, false), Ids{});
  EXPECT_TRUE(tok->is_end_of_generation(2));
  EXPECT_FALSE(tok->is_end_of_generation(1));
  EXPECT_TRUE(tok->is_control(1));
  EXPECT_FALSE(tok->is_control(15043));
  EXPECT_TRUE(tok->is_byte(229));
  EXPECT_EQ(tok->token_text(15043), "▁Hello");
  EXPECT_EQ(tok->token_text(-1), "");
  EXPECT_EQ(tok->token_text(32000), "");
  EXPECT_EQ(tok->find_token("▁Hello"), 15043);
  EXPECT_EQ(tok->find_token("no such token"), std::nullopt);
}

TEST(Tokenizer, BytePairFlags) {
  REQUIRE_VOCAB(gpt2, "gpt-2");
  EXPECT_EQ(gpt2->model(), TokenizerModel::kBytePairEncoding);
  EXPECT_EQ(gpt2->pre_tokenizer_name(), "gpt-2");
  EXPECT_FALSE(gpt2->add_bos());
  EXPECT_EQ(gpt2->bos_id(), 50256);
  EXPECT_EQ(gpt2->eot_id(), 50256);  // "<|endoftext|>" recognised by its text
  EXPECT_TRUE(gpt2->is_end_of_generation(50256));
  EXPECT_EQ(gpt2->encode("Hello", true, false), gpt2->encode("Hello", false, false));

  REQUIRE_VOCAB(deepseek, "deepseek-llm");
  EXPECT_TRUE(deepseek->add_bos());  // tokenizer.ggml.add_bos_token = true
  const Ids ids = deepseek->encode("Hello", true, false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 100000);
  EXPECT_TRUE(deepseek->is_end_of_generation(100001));

  REQUIRE_VOCAB(neox, "gpt-neox");
  EXPECT_EQ(neox->pre_tokenizer_name(), "default");  // no tokenizer.ggml.pre in the file
}

TEST(Tokenizer, WordPieceAddsClsAndSep) {
  REQUIRE_VOCAB(tok, "bert-bge");
  EXPECT_EQ(tok->model(), TokenizerModel::kWordPiece);
  EXPECT_EQ(tok->encode("Hello world", true, false), (Ids{101, 7592, 2088, 102}));
  EXPECT_EQ(tok->decode(tok->encode("hello world", false, false)), "hello world");
}

TEST(Tokenizer, ControlTokensParsedOnlyWhenAsked) {
  REQUIRE_VOCAB(tok, "llama-spm");
  // After a special token SentencePiece adds the space prefix again, as llama.cpp does.
  EXPECT_EQ(tok->encode("<s>Hello</s>", false, true), (Ids{1, 15043, 2}));
  const Ids as_text = tok->encode("<s>Hello", false, false);
  EXPECT_GT(as_text.size(), 2u);
  EXPECT_EQ(std::count(as_text.begin(), as_text.end(), 1), 0);
  EXPECT_EQ(tok->decode(as_text), "<s>Hello");
  EXPECT_EQ(tok->decode(Ids{1, 15043, 2}), "Hello");
  EXPECT_EQ(tok->decode(Ids{1, 15043, 2}, true), "<s> Hello</s>");

  REQUIRE_VOCAB(gpt2, "gpt-2");
  EXPECT_EQ(gpt2->encode("a<|endoftext|>b", false, true), (Ids{64, 50256, 65}));
  const Ids plain = gpt2->encode("a<|endoftext|>b", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0);
  EXPECT_EQ(gpt2->decode(plain), "a<|endoftext|>b");
  EXPECT_EQ(gpt2->token_to_piece(50256), "");
  EXPECT_EQ(gpt2->token_to_piece(50256, true), "<|endoftext|>");
}

TEST(Tokenizer, LongestSpecialTokenWins) {
  REQUIRE_VOCAB(tok, "refact");
  // "<fim_prefix>" and "<fim_middle>" are control tokens; "<fim_prefix" alone is plain text.
  const int32_t prefix = *tok->find_token("<fim_prefix>");
  const int32_t middle = *tok->find_token("<fim_middle>");
  EXPECT_EQ(tok->encode("<fim_prefix><fim_middle>", false, true), (Ids{prefix, middle}));
  const Ids partial = tok->encode("<fim_prefix<fim_middle>", false, true);
  ASSERT_FALSE(partial.empty());
  EXPECT_EQ(partial.back(), middle);
  EXPECT_EQ(std::count(partial.begin(), partial.end(), prefix), 0);
}

TEST(Tokenizer, UserDefinedTokensAlwaysMatch) {
  REQUIRE_VOCAB(tok, "deepseek-llm");
  // DeepSeek lists some Latin-1 letters as user-defined tokens: they are cut out of the text
  // before pre-tokenization even without parse_special (as Hugging Face's added vocabulary does).
  const int32_t o_umlaut = *tok->find_token("ö");
  const Ids ids = tok->encode("schön", false, false);
  EXPECT_NE(std::find(ids.begin(), ids.end(), o_umlaut), ids.end());
  EXPECT_EQ(tok->decode(ids), "schön");
}

TEST(Tokenizer, Phi3StripsWhiteSpaceAfterSpecialTokens) {
  REQUIRE_VOCAB(tok, "phi-3");
  EXPECT_EQ(*tok->find_token("<|user|>"), 32010);
  EXPECT_EQ(tok->encode("<|user|>\nHello<|end|>", false, true), (Ids{32010, 15043, 32007}));
  EXPECT_TRUE(tok->is_end_of_generation(32007));  // "<|end|>"
  EXPECT_TRUE(tok->is_end_of_generation(32000));  // eos "<|endoftext|>"
}

TEST(Tokenizer, Stories260K) {
  REQUIRE_MODEL(tok, "stories260K.gguf");
  EXPECT_EQ(tok->n_vocab(), 512);
  EXPECT_EQ(tok->sep_id(), -1);  // stored as 0xFFFFFFFF
  EXPECT_EQ(tok->encode("Once upon a time", true, false), (Ids{1, 403, 407, 261, 378}));
}

void check_greedy_reference(const Tokenizer& tok, const std::string& path) {
  const auto cases = nlohmann::json::parse(test::read_file(path));
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    const std::string prompt = c.at("prompt").get<std::string>();
    EXPECT_EQ(tok.encode(prompt, true, true), c.at("prompt_tokens").get<Ids>()) << prompt;
    // The continuation is the pieces of the generated tokens, joined as they stream.
    std::string text;
    StreamingDetokenizer detok(tok);
    for (int32_t id : c.at("greedy_tokens").get<Ids>()) {
      if (tok.is_end_of_generation(id)) break;
      text += detok.push(id);
    }
    text += detok.flush();
    EXPECT_EQ(text, c.at("greedy_text").get<std::string>()) << prompt;
  }
}

TEST(Tokenizer, GenerationReferencePrompts) {
  const std::string dir = std::string(TANDEM_SHARED_DIR) + "/reference/generation/";
  REQUIRE_MODEL(stories, "stories260K.gguf");
  check_greedy_reference(*stories, dir + "stories260K.greedy.json");
  REQUIRE_MODEL(llama2, "llama-2-tiny-random.gguf");
  check_greedy_reference(*llama2, dir + "llama-2-tiny-random.greedy.json");
}

TEST(Tokenizer, ForcedTextReference) {
  REQUIRE_MODEL(tok, "stories260K.gguf");
  const std::string dir = std::string(TANDEM_SHARED_DIR) + "/reference/generation/";
  const std::string text = test::read_file(dir + "stories260K.forced.txt");  // ends with "\n": <0x0A>
  const Ids expected = nlohmann::json::parse(test::read_file(dir + "stories260K.forced.json")).at("tokens");
  EXPECT_EQ(tok->encode(text, true, false), expected);
  EXPECT_EQ(tok->decode(expected), text);
}

// The demo models, when scripts/fetch_models.sh has cached them.
const Tokenizer* cached_model(const std::string& name) {
  const std::string path = std::string(TANDEM_MODELS_CACHE) + "/" + name;
  return test::file_exists(path) ? test::load_tokenizer(path) : nullptr;
}

TEST(Tokenizer, SmolLm2ChatPrompts) {
  const Tokenizer* tok = cached_model("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (tok == nullptr) GTEST_SKIP() << "SmolLM2 not fetched (scripts/fetch_models.sh)";
  EXPECT_EQ(tok->model(), TokenizerModel::kBytePairEncoding);
  EXPECT_EQ(tok->pre_tokenizer_name(), "starcoder");  // tokenizer.ggml.pre = "smollm"
  EXPECT_FALSE(tok->add_bos());
  const auto im_end = tok->find_token("<|im_end|>");
  ASSERT_TRUE(im_end.has_value());
  EXPECT_TRUE(tok->is_end_of_generation(*im_end));
  EXPECT_TRUE(tok->is_control(*im_end));

  // Prompts and continuations that llama.cpp produced (scripts/reference/make_smollm2_reference.py).
  const std::string path = std::string(TANDEM_TEST_DATA) + "/golden/smollm2-135m-instruct.greedy.json";
  if (!test::file_exists(path)) GTEST_SKIP() << path << " is absent";
  const auto cases = nlohmann::json::parse(test::read_file(path));
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    const std::string prompt = c.at("prompt").get<std::string>();
    const Ids ids = tok->encode(prompt, true, true);
    EXPECT_EQ(ids, c.at("prompt_tokens").get<Ids>()) << prompt;
    EXPECT_EQ(tok->decode(ids, true), prompt);
    std::string text;
    for (int32_t id : c.at("greedy_tokens").get<Ids>()) text += tok->token_to_piece(id);
    EXPECT_EQ(text, c.at("greedy_text").get<std::string>()) << prompt;
  }
}

TEST(Tokenizer, Gemma3IfFetched) {
  const Tokenizer* tok = cached_model("gemma-3-270m-q4_k_m.gguf");
  if (tok == nullptr) GTEST_SKIP() << "Gemma 3 not fetched (scripts/fetch_models.sh)";
  EXPECT_EQ(tok->model(), TokenizerModel::kSentencePiece);
  EXPECT_TRUE(tok->add_bos());
  const auto end_of_turn = tok->find_token("<end_of_turn>");
  ASSERT_TRUE(end_of_turn.has_value());
  EXPECT_TRUE(tok->is_end_of_generation(*end_of_turn));
  const std::string prompt = "<start_of_turn>user\nHello, Gemma! Ünïcödé 中文<end_of_turn>\n<start_of_turn>model\n";
  const Ids ids = tok->encode(prompt, true, true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], tok->bos_id());
  EXPECT_EQ(ids[1], *tok->find_token("<start_of_turn>"));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), *end_of_turn), 1);
  // No space prefix in this vocabulary (tokenizer.ggml.add_space_prefix = false).
  EXPECT_EQ(tok->decode(std::span(ids).subspan(1), true), prompt);
}

// Hostile input: invalid UTF-8, empty text, huge runs of one character class. Nothing may crash,
// lossless vocabularies must still round-trip, and long runs must stay fast.
class HostileInput : public ::testing::TestWithParam<std::string> {};

TEST_P(HostileInput, NoCrashAndRoundTrip) {
  REQUIRE_VOCAB(tok, GetParam());
  // WordPiece normalises text. Falcon's vocabulary lacks the bytes that never occur in UTF-8
  // (C0, C1, F5..FF): they are dropped. DeepSeek lists those bytes' byte-level characters as
  // user-defined tokens that stand for the characters themselves ("ÿ" is U+00FF), so a raw 0xFF
  // comes back as "ÿ".
  const bool lossless = tok->model() != TokenizerModel::kWordPiece;
  const bool all_bytes = GetParam() != "falcon" && GetParam() != "deepseek-llm";
  const std::string cases[] = {
      "",
      std::string("\xff\xfe\xfd"),
      std::string("abc\xc3"),                // truncated 2-byte sequence at the end
      std::string("\xe2\x82 euro \xe2\x82\xac"),  // truncated, then complete
      std::string("\xed\xa0\x80 surrogate"),
      std::string("\xc0\xaf overlong"),
      std::string("\xf4\x90\x80\x80 beyond U+10FFFF"),
      std::string("a\0b", 3),
      std::string(20000, ' '),
      std::string(20000, '\n'),
      std::string(5000, ' ') + "x" + std::string(5000, '\t'),
      std::string(20000, '7'),
      std::string(20000, 'a'),
      std::string(3000, '!'),
  };
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& text : cases) {
    for (bool parse_special : {false, true}) {
      const Ids ids = tok->encode(text, false, parse_special);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok->n_vocab());
      const bool never_utf8 = std::any_of(text.begin(), text.end(), [](char c) {
        const auto b = static_cast<uint8_t>(c);
        return b == 0xC0 || b == 0xC1 || b >= 0xF5;
      });
      if (lossless && (all_bytes || !never_utf8)) {
        EXPECT_EQ(tok->decode(ids), text) << "size " << text.size();
      } else {
        (void)tok->decode(ids);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
}

INSTANTIATE_TEST_SUITE_P(Reference, HostileInput,
                         ::testing::Values("llama-spm", "gpt-2", "deepseek-llm", "falcon", "bert-bge"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name) c = (c == '-') ? '_' : c;
                           return name;
                         });

// --- Vocabularies built in memory -------------------------------------------------------------

gguf::Value strings(std::vector<std::string> items) {
  std::vector<gguf::Value> values;
  for (auto& s : items) values.push_back(gguf::Value::make_string(std::move(s)));
  return gguf::Value::make_array(gguf::ValueType::STRING, std::move(values));
}

Result<Tokenizer> tokenizer_from(const gguf::GgufWriter& writer) {
  auto file = gguf::GgufFile::parse(writer.to_bytes());
  if (!file) return make_error(file.error());
  return Tokenizer::from_gguf(*file);
}

// A tiny byte-level BPE vocabulary: the printable ASCII bytes plus a few merges.
gguf::GgufWriter tiny_bpe(const std::string& pre) {
  std::vector<std::string> tokens;
  for (char c = '!'; c <= '~'; ++c) tokens.emplace_back(1, c);
  tokens.push_back("Ġ");  // space
  tokens.push_back("ab");
  tokens.push_back("abc");
  tokens.push_back("Ġab");
  gguf::GgufWriter w;
  w.set("tokenizer.ggml.model", gguf::Value::make_string("gpt2"));
  if (!pre.empty()) w.set("tokenizer.ggml.pre", gguf::Value::make_string(pre));
  w.set("tokenizer.ggml.tokens", strings(tokens));
  w.set("tokenizer.ggml.merges", strings({"a b", "Ġ ab"}));
  return w;
}

TEST(TokenizerSynthetic, MissingOrUnsupportedModel) {
  gguf::GgufWriter none;
  none.set("general.architecture", gguf::Value::make_string("llama"));
  auto missing = tokenizer_from(none);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("tokenizer.ggml.model"), std::string::npos);

  gguf::GgufWriter t5 = tiny_bpe("");
  t5.set("tokenizer.ggml.model", gguf::Value::make_string("t5"));
  auto unsupported = tokenizer_from(t5);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.error().find("t5"), std::string::npos);

  gguf::GgufWriter no_merges;
  no_merges.set("tokenizer.ggml.model", gguf::Value::make_string("gpt2"));
  no_merges.set("tokenizer.ggml.tokens", strings({"a", "b"}));
  auto merges = tokenizer_from(no_merges);
  ASSERT_FALSE(merges.ok());
  EXPECT_NE(merges.error().find("merges"), std::string::npos);

  gguf::GgufWriter bad_scores = tiny_bpe("");
  bad_scores.set("tokenizer.ggml.scores",
                 gguf::Value::make_array(gguf::ValueType::FLOAT32, {gguf::Value::make_float(gguf::ValueType::FLOAT32, 0)}));
  auto scores = tokenizer_from(bad_scores);
  ASSERT_FALSE(scores.ok());
  EXPECT_NE(scores.error().find("scores"), std::string::npos);
}

TEST(TokenizerSynthetic, MergesAndUnknownPreTokenizer) {
  auto tok = tokenizer_from(tiny_bpe("some-future-model"));  // warns, falls back to the default
  ASSERT_TRUE(tok.ok()) << tok.error();
  EXPECT_EQ(tok->pre_tokenizer_name(), "default");
  const int32_t ab = *tok->find_token("ab");
  const int32_t space_ab = *tok->find_token("Ġab");
  const int32_t c = *tok->find_token("c");
  // "abc" is a token but no merge builds it from "ab" + "c".
  EXPECT_EQ(tok->encode("abc ab", false, false), (Ids{ab, c, space_ab}));
}

TEST(TokenizerSynthetic, Llama3IgnoresMergesForWholeWords) {
  auto tok = tokenizer_from(tiny_bpe("llama-bpe"));
  ASSERT_TRUE(tok.ok()) << tok.error();
  EXPECT_EQ(tok->pre_tokenizer_name(), "llama3");
  EXPECT_EQ(tok->encode("abc", false, false), (Ids{*tok->find_token("abc")}));
}

}  // namespace
}  // namespace tandem
