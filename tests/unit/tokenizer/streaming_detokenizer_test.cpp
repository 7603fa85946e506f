// StreamingDetokenizer: text is released only as whole UTF-8 characters.

#include <gtest/gtest.h>

#include "tokenizer/unicode.h"
#include "tokenizer_test_util.h"

namespace tandem {
namespace {

int32_t byte_token(const Tokenizer& tok, uint8_t byte) {
  static const char kHex[] = "0123456789ABCDEF";
  const std::string name = std::string("<0x") + kHex[byte >> 4] + kHex[byte & 15] + ">";
  return tok.find_token(name).value_or(-1);
}

TEST(StreamingDetokenizer, HoldsBackSplitCharacter) {
  const Tokenizer* tok = test::load_vocab("llama-spm");
  if (tok == nullptr) GTEST_SKIP();
  // "€" is E2 82 AC; feed it as three byte tokens between two words.
  StreamingDetokenizer detok(*tok);
  EXPECT_EQ(detok.push(*tok->find_token("▁Hello")), " Hello");
  EXPECT_EQ(detok.push(byte_token(*tok, 0xE2)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 0x82)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 0xAC)), "€");
  EXPECT_EQ(detok.push(*tok->find_token("▁world")), " world");
  EXPECT_EQ(detok.flush(), "");
}

TEST(StreamingDetokenizer, MatchesEncodedText) {
  const Tokenizer* tok = test::load_vocab("llama-spm");
  if (tok == nullptr) GTEST_SKIP();
  const std::string text = "Ünïcödé 中文 🦙 and ប្រសិនបើ";
  std::string streamed;
  StreamingDetokenizer detok(*tok);
  for (int32_t id : tok->encode(text, true, false)) {
    const std::string piece = detok.push(id);
    // Every piece is valid UTF-8 on its own.
    EXPECT_EQ(unicode::sanitize_utf8(piece), piece);
    streamed += piece;
  }
  streamed += detok.flush();
  EXPECT_EQ(streamed, " " + text);  // pieces joined as generated: the space prefix stays
}

TEST(StreamingDetokenizer, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer* tok = test::load_vocab("llama-spm");
  if (tok == nullptr) GTEST_SKIP();
  StreamingDetokenizer detok(*tok);
  EXPECT_EQ(detok.push(byte_token(*tok, 0x80)), "\xEF\xBF\xBD");  // a stray continuation byte
  EXPECT_EQ(detok.push(byte_token(*tok, 0xE4)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 0x41)), "\xEF\xBF\xBD" "A");  // E4 cut short by 'A'
  EXPECT_EQ(detok.push(byte_token(*tok, 0xF0)), "");
  EXPECT_EQ(detok.push(byte_token(*tok, 0x9F)), "");
  EXPECT_EQ(detok.flush(), "\xEF\xBF\xBD");  // an unfinished sequence at the end
  EXPECT_EQ(detok.flush(), "");
}

TEST(StreamingDetokenizer, SpecialTokensOnlyWhenAsked) {
  const Tokenizer* tok = test::load_vocab("gpt-2");
  if (tok == nullptr) GTEST_SKIP();
  StreamingDetokenizer plain(*tok);
  EXPECT_EQ(plain.push(50256), "");
  StreamingDetokenizer rendered(*tok, true);
  EXPECT_EQ(rendered.push(50256), "<|endoftext|>");
}

}  // namespace
}  // namespace tandem
