#include "http/auth.h"

#include <gtest/gtest.h>

#include "http/api_error.h"
#include "http/cors.h"
#include "http/router.h"

namespace tandem::http {
namespace {

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret-key", "secret-key"));
  EXPECT_FALSE(constant_time_equal("secret-key", "secret-kez"));
  EXPECT_FALSE(constant_time_equal("secret", "secret-key"));
  EXPECT_FALSE(constant_time_equal("secret-key", ""));
}

TEST(Auth, BearerTokensAgainstEveryKey) {
  const std::vector<std::string> keys = {"alpha-key-0001", "beta-key-00002"};
  EXPECT_TRUE(authorized("Bearer alpha-key-0001", keys));
  EXPECT_TRUE(authorized("bearer   beta-key-00002 ", keys));
  EXPECT_FALSE(authorized("Bearer alpha-key-0002", keys));
  EXPECT_FALSE(authorized("Basic alpha-key-0001", keys));
  EXPECT_FALSE(authorized("alpha-key-0001", keys));
  EXPECT_FALSE(authorized("", keys));
  EXPECT_FALSE(authorized("Bearer ", keys));
  EXPECT_TRUE(authorized("", {}));  // no keys configured: open
}

TEST(ApiError, RendersOpenAiShapeAndStatus) {
  HttpResponse r = error_response(invalid_request("max_tokens must be at least 1", "max_tokens"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            R"({"error":{"code":null,"message":"max_tokens must be at least 1","param":"max_tokens","type":"invalid_request_error"}})");
  HttpResponse busy = error_response(too_many_requests("busy", 2));
  EXPECT_EQ(busy.status, 429);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0], (std::pair<std::string, std::string>{"Retry-After", "2"}));
  EXPECT_EQ(error_response(unauthorized("no key")).status, 401);
  EXPECT_EQ(error_response(not_found("no route")).status, 404);
  EXPECT_EQ(error_response(method_not_allowed("no")).status, 405);
  EXPECT_EQ(error_response(payload_too_large("big")).status, 413);
  EXPECT_EQ(error_response(unavailable("down", "model_not_loaded")).status, 503);
  // Client text with invalid UTF-8 in a message is replaced, not thrown on.
  EXPECT_NO_THROW(error_response(invalid_request("bad \xff byte")));
}

TEST(Router, TellsNotFoundFromMethodNotAllowed) {
  Router router;
  router.add("POST", "/v1/completions", [](const HttpRequest&, std::shared_ptr<Responder>) {});
  router.add("GET", "/health", [](const HttpRequest&, std::shared_ptr<Responder>) {});
  EXPECT_NE(router.find("POST", "/v1/completions").handler, nullptr);
  Router::Match wrong = router.find("GET", "/v1/completions");
  EXPECT_EQ(wrong.handler, nullptr);
  EXPECT_EQ(wrong.allowed, (std::vector<std::string>{"POST"}));
  EXPECT_EQ(wrong.route, "/v1/completions");
  Router::Match none = router.find("GET", "/nope");
  EXPECT_EQ(none.handler, nullptr);
  EXPECT_TRUE(none.allowed.empty());
  EXPECT_TRUE(none.route.empty());
}

TEST(Router, PrefixRoutesComeAfterExactOnes) {
  Router router;
  router.add("GET", "/v1/models", [](const HttpRequest&, std::shared_ptr<Responder>) {});
  router.add_prefix("GET", "/v1/models/", [](const HttpRequest&, std::shared_ptr<Responder>) {});
  EXPECT_EQ(router.find("GET", "/v1/models").route, "/v1/models");
  Router::Match one = router.find("GET", "/v1/models/smol");
  EXPECT_NE(one.handler, nullptr);
  EXPECT_EQ(one.route, "/v1/models/*");
  EXPECT_EQ(router.find("POST", "/v1/models/smol").allowed, std::vector<std::string>{"GET"});
  EXPECT_TRUE(router.find("GET", "/v1/models/").route.empty());
}

TEST(Cors, OnlyConfiguredOriginsGetHeaders) {
  CorsPolicy off({});
  EXPECT_TRUE(off.response_headers("https://a.example").empty());
  CorsPolicy some({"https://a.example"});
  EXPECT_FALSE(some.response_headers("https://a.example").empty());
  EXPECT_TRUE(some.response_headers("https://evil.example").empty());
  EXPECT_TRUE(some.response_headers("").empty());
  CorsPolicy any({"*"});
  auto h = any.response_headers("https://b.example");
  ASSERT_FALSE(h.empty());
  EXPECT_EQ(h[0].second, "https://b.example");

  HttpRequest preflight;
  preflight.method = "OPTIONS";
  preflight.headers = {{"origin", "https://a.example"}, {"access-control-request-method", "POST"},
                       {"access-control-request-headers", "authorization, content-type"}};
  EXPECT_TRUE(CorsPolicy::is_preflight(preflight));
  HttpResponse r = some.preflight_response(preflight);
  EXPECT_EQ(r.status, 204);
  bool allows_headers = false;
  for (const auto& [k, v] : r.headers) allows_headers |= k == "Access-Control-Allow-Headers" && v == "authorization, content-type";
  EXPECT_TRUE(allows_headers);
}

}  // namespace
}  // namespace tandem::http
