// Unicode tables and UTF-8 handling used by the tokenizers.

#include "tokenizer/unicode.h"

#include <gtest/gtest.h>

namespace tandem::unicode {
namespace {

TEST(Unicode, Categories) {
  EXPECT_TRUE(is_letter('a'));
  EXPECT_TRUE(is_letter(U'ß'));
  EXPECT_TRUE(is_letter(U'中'));
  EXPECT_TRUE(is_letter(U'Б'));
  EXPECT_FALSE(is_letter('1'));
  EXPECT_TRUE(is_number('7'));
  EXPECT_TRUE(is_number(U'½'));
  EXPECT_TRUE(is_number(U'٣'));  // Arabic-Indic digit three
  EXPECT_TRUE(is_punctuation('!'));
  EXPECT_TRUE(is_punctuation(U'。'));
  EXPECT_FALSE(is_punctuation('$'));
  EXPECT_TRUE(is_symbol('$'));
  EXPECT_TRUE(is_symbol('~'));
  EXPECT_TRUE(is_symbol(U'🦙'));
  EXPECT_TRUE(is_mark(0x0301));  // combining acute accent
  EXPECT_TRUE(is_control(0x200D));  // zero width joiner (Cf)
  EXPECT_FALSE(is_control(0x0378));  // unassigned
  EXPECT_EQ(category(0x10FFFF), Category::Cn);
  EXPECT_EQ(category(0x110000), Category::Cn);
  EXPECT_EQ(category(0xE000), Category::Co);
  EXPECT_TRUE(is_upper_like('A'));
  EXPECT_FALSE(is_upper_like('a'));
  EXPECT_TRUE(is_lower_like('a'));
  EXPECT_TRUE(is_lower_like(U'中'));  // Lo counts as both
  EXPECT_TRUE(is_upper_like(U'中'));
}

TEST(Unicode, WhiteSpace) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', char32_t{0x85}, char32_t{0xA0}, char32_t{0x1680},
                     char32_t{0x2000}, char32_t{0x200A}, char32_t{0x2028}, char32_t{0x2029}, char32_t{0x202F},
                     char32_t{0x205F}, char32_t{0x3000}}) {
    EXPECT_TRUE(is_whitespace(c)) << std::hex << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U'a', char32_t{0x1C}, char32_t{0x200B}, char32_t{0x200D}, char32_t{0xFEFF}}) {
    EXPECT_FALSE(is_whitespace(c)) << std::hex << static_cast<uint32_t>(c);
  }
}

TEST(Unicode, LowerAndNfd) {
  EXPECT_EQ(to_lower('A'), U'a');
  EXPECT_EQ(to_lower(U'Б'), U'б');
  EXPECT_EQ(to_lower(U'Ü'), U'ü');
  EXPECT_EQ(to_lower(0x130), U'i');  // İ lower-cases to "i̇"; its simple mapping is i
  EXPECT_EQ(to_lower(U'中'), U'中');
  EXPECT_EQ(nfd_first(U'é'), U'e');
  EXPECT_EQ(nfd_first(U'ử'), U'u');
  EXPECT_EQ(nfd_first(U'한'), char32_t{0x1112});  // Hangul syllable -> leading jamo
  EXPECT_EQ(nfd_first(U'a'), U'a');
  EXPECT_EQ(nfd_first(U'中'), U'中');
}

TEST(Unicode, StrictDecoding) {
  std::vector<char32_t> cps;
  std::vector<uint32_t> offsets;
  decode("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\xA6\x99", cps, offsets);
  EXPECT_EQ(cps, (std::vector<char32_t>{U'a', U'é', U'中', U'🦙'}));
  EXPECT_EQ(offsets, (std::vector<uint32_t>{0, 1, 3, 6, 10}));

  const auto one = [](std::string_view s) { return decode_one(s, 0); };
  EXPECT_FALSE(one("\x80").valid);              // stray continuation
  EXPECT_FALSE(one("\xC0\xAF").valid);          // overlong
  EXPECT_FALSE(one("\xE0\x80\xAF").valid);      // overlong
  EXPECT_FALSE(one("\xED\xA0\x80").valid);      // surrogate
  EXPECT_FALSE(one("\xF4\x90\x80\x80").valid);  // > U+10FFFF
  EXPECT_FALSE(one("\xE4\xB8").valid);          // truncated
  EXPECT_EQ(one("\xE4\xB8").length, 1u);
  EXPECT_EQ(one("\xFF").cp, kEscapeBase + 0xFF);

  std::string out;
  append_utf8(out, kEscapeBase + 0xFF);  // an escaped byte is written back raw
  append_utf8(out, U'€');
  EXPECT_EQ(out, "\xFF\xE2\x82\xAC");
}

TEST(Unicode, Sanitize) {
  EXPECT_EQ(sanitize_utf8("ok €"), "ok €");
  EXPECT_EQ(sanitize_utf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(sanitize_utf8("\xE2\x82" "x"), "\xEF\xBF\xBD" "x");  // one U+FFFD for a truncated sequence
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  size_t needed = 0;
  EXPECT_EQ(utf8_prefix_length("\xF0\x9F\xA6", 0, needed), 3u);
  EXPECT_EQ(needed, 4u);
}

}  // namespace
}  // namespace tandem::unicode
