#include "http/gzip.h"

#include <gtest/gtest.h>

namespace tandem::http {
namespace {

TEST(Gzip, RoundTrips) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{\"token\": " + std::to_string(i) + "} ";
  const std::string packed = gzip_compress(text);
  EXPECT_LT(packed.size(), text.size() / 3);
  GunzipResult back = gzip_decompress(packed, 1 << 20);
  EXPECT_EQ(back.error, GunzipError::kNone);
  EXPECT_EQ(back.data, text);
  EXPECT_EQ(gzip_decompress(gzip_compress(""), 10).data, "");
}

TEST(Gzip, ConcatenatedMembersDecodeAsOne) {
  GunzipResult back = gzip_decompress(gzip_compress("hello, ") + gzip_compress("world"), 100);
  EXPECT_EQ(back.error, GunzipError::kNone);
  EXPECT_EQ(back.data, "hello, world");
}

TEST(Gzip, BombStopsAtTheLimit) {
  const std::string zeros(10 << 20, '\0');
  const std::string packed = gzip_compress(zeros);
  EXPECT_LT(packed.size(), 64u << 10);
  GunzipResult back = gzip_decompress(packed, 1 << 20);
  EXPECT_EQ(back.error, GunzipError::kTooLarge);
  EXPECT_TRUE(back.data.empty());
}

TEST(Gzip, CorruptAndTruncatedInputIsAnError) {
  const std::string packed = gzip_compress("some text that is long enough to matter, some text");
  EXPECT_EQ(gzip_decompress("not gzip at all", 100).error, GunzipError::kCorrupt);
  EXPECT_EQ(gzip_decompress(packed.substr(0, packed.size() / 2), 100).error, GunzipError::kCorrupt);
  EXPECT_EQ(gzip_decompress("", 100).error, GunzipError::kCorrupt);
  std::string flipped = packed;
  flipped[flipped.size() - 6] ^= 0x55;  // the CRC32 no longer matches
  EXPECT_EQ(gzip_decompress(flipped, 100).error, GunzipError::kCorrupt);
}

TEST(Gzip, AcceptEncodingIsParsedWithQValues) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
}

}  // namespace
}  // namespace tandem::http
