#include "tools/bench/target_url.h"

#include <gtest/gtest.h>

namespace tandem::bench {
namespace {

TEST(TargetUrl, HostPortAndNoPath) {
  const auto t = parse_target_url("http://127.0.0.1:8080");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->base_path, "");
  EXPECT_EQ(t->host_header(), "127.0.0.1:8080");
}

TEST(TargetUrl, DefaultPortIs80AndV1IsDropped) {
  const auto t = parse_target_url("http://localhost/v1/");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->port, 80);
  EXPECT_EQ(t->base_path, "");
}

TEST(TargetUrl, PrefixIsKept) {
  const auto t = parse_target_url("http://host:9000/api/v1");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->base_path, "/api");
}

TEST(TargetUrl, Ipv6InBrackets) {
  const auto t = parse_target_url("http://[::1]:8000");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->host_header(), "[::1]:8000");
}

TEST(TargetUrl, BadUrlsSayWhatIsWrong) {
  EXPECT_NE(parse_target_url("https://x:1").error().find("https is not supported"), std::string::npos);
  EXPECT_NE(parse_target_url("127.0.0.1:8080").error().find("does not start with http://"), std::string::npos);
  EXPECT_NE(parse_target_url("http://h:99999").error().find("1 to 65535"), std::string::npos);
  EXPECT_NE(parse_target_url("http://h:abc").error().find("1 to 65535"), std::string::npos);
  EXPECT_NE(parse_target_url("http://:80").error().find("no host"), std::string::npos);
  EXPECT_NE(parse_target_url("http://u:p@h:80").error().find("--api-key"), std::string::npos);
  EXPECT_FALSE(parse_target_url("http://h:80/?q=1"));
}

}  // namespace
}  // namespace tandem::bench
