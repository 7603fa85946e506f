#include <gtest/gtest.h>

#include "gateway/app/ui_routes.h"

namespace tandem::gateway {
namespace {

http::HttpRequest request(std::string method, std::string origin, std::string host = "gw.local:8000") {
  http::HttpRequest r;
  r.method = std::move(method);
  r.path = "/v1/chat/completions";
  r.target = r.path;
  if (!origin.empty()) r.headers.emplace_back("origin", std::move(origin));
  r.headers.emplace_back("host", std::move(host));
  return r;
}

// The gateway's own page may POST (the proxy then drops Origin); other sites may not, unless
// cors.allowed_origins lists them; clients that are not browsers send no Origin and pass.
TEST(ScreenOrigin, OwnPageAndListedOriginsOnly) {
  const http::CorsPolicy none({});
  EXPECT_FALSE(screen_origin(request("POST", "http://gw.local:8000"), none));
  EXPECT_FALSE(screen_origin(request("POST", ""), none));
  EXPECT_FALSE(screen_origin(request("GET", "http://evil.example"), none));
  auto refused = screen_origin(request("POST", "http://evil.example"), none);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_NE(refused->message.find("http://evil.example"), std::string::npos) << refused->message;
  // Same host, other port: another origin.
  EXPECT_TRUE(screen_origin(request("DELETE", "http://gw.local:9000"), none));
  const http::CorsPolicy listed({"http://tools.local"});
  EXPECT_FALSE(screen_origin(request("PUT", "http://tools.local"), listed));
  EXPECT_TRUE(screen_origin(request("PUT", "http://evil.example"), listed));
}

}  // namespace
}  // namespace tandem::gateway
