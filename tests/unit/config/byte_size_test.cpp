#include "config/byte_size.h"

#include <gtest/gtest.h>

namespace tandem::config {
namespace {

uint64_t bytes(const char* text) {
  auto r = parse_byte_size(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? r.value() : 0;
}

TEST(ByteSize, ParsesPlainBytesAndUnits) {
  EXPECT_EQ(bytes("1048576"), 1048576u);
  EXPECT_EQ(bytes("4GB"), 4000000000u);
  EXPECT_EQ(bytes("4GiB"), 4ull << 30);
  EXPECT_EQ(bytes("512MiB"), 512ull << 20);
  EXPECT_EQ(bytes("512 mib"), 512ull << 20);
  EXPECT_EQ(bytes("1.5GiB"), 3ull << 29);
  EXPECT_EQ(bytes("16K"), 16384u);
  EXPECT_EQ(bytes("10kb"), 10000u);
  EXPECT_EQ(bytes("7B"), 7u);
  EXPECT_EQ(bytes(" 2TB "), 2000000000000u);
}

TEST(ByteSize, RejectsWhatIsNotASize) {
  for (const char* bad : {"", "GB", "-4GB", "4 gigabytes", "4XB", "1e9", "4..2GB", "99999999999TB"}) {
    auto r = parse_byte_size(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_FALSE(r.error().empty());
  }
  EXPECT_NE(parse_byte_size("4 gigabytes").error().find("512MiB"), std::string::npos);
}

TEST(ByteSize, FormatsWithIecUnits) {
  EXPECT_EQ(format_byte_size(100), "100 B");
  EXPECT_EQ(format_byte_size(4ull << 30), "4 GiB");
  EXPECT_EQ(format_byte_size(3ull << 29), "1.5 GiB");
  EXPECT_EQ(format_byte_size(512ull << 20), "512 MiB");
}

}  // namespace
}  // namespace tandem::config
