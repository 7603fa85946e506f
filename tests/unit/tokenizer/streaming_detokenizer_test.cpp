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

// A reply format's marker that a vocabulary holds as a control token (Mistral's "[TOOL_CALLS]",
// Llama 3.1's "<|python_tag|>") must reach the reply parser, and no other control token may. No
// vocabulary at hand has those two, so Phi-3's "<|placeholder1|>" (a control token that does not
// end generation) stands in for a marker.
TEST(StreamingDetokenizer, ShowsOnlyTheNamedControlTokens) {
  const Tokenizer* tok = test::load_vocab("phi-3");
  if (tok == nullptr) GTEST_SKIP();
  const int32_t marker = tok->find_token("<|placeholder1|>").value_or(-1);
  const int32_t end = tok->find_token("<|end|>").value_or(-1);
  const int32_t assistant = tok->find_token("<|assistant|>").value_or(-1);
  const int32_t hello = tok->find_token("▁Hello").value_or(-1);
  ASSERT_TRUE(tok->is_control(marker));
  ASSERT_TRUE(tok->is_control(end));
  ASSERT_TRUE(tok->is_control(assistant));
  ASSERT_FALSE(tok->is_control(hello));

  StreamingDetokenizer plain(*tok);
  EXPECT_EQ(plain.push(marker), "");

  // Texts that are no control token here (absent, or a normal token) change nothing.
  const std::vector<std::string> visible = {"<|placeholder1|>", "[TOOL_CALLS]", "▁Hello"};
  StreamingDetokenizer shown(*tok, visible);
  EXPECT_EQ(shown.push(hello), " Hello");
  EXPECT_EQ(shown.push(marker), "<|placeholder1|>");
  EXPECT_EQ(shown.push(end), "");
  EXPECT_EQ(shown.push(assistant), "");
  EXPECT_EQ(shown.push(tok->bos_id()), "");
  EXPECT_EQ(shown.push(tok->unk_id()), "");
  EXPECT_EQ(shown.flush(), "");

  StreamingDetokenizer none(*tok, std::vector<std::string>{});
  EXPECT_EQ(none.push(marker), "");
}

}  // namespace
}  // namespace tandem
