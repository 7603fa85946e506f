#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gateway/ui/assets.h"

namespace tandem::gateway {
namespace {

std::string header(const http::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(UiAssets, EmbeddedPageAndLibrariesWithTheirTypesAndCsp) {
  UiAssets assets("");
  auto page = assets.get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("data-testid=\"chat-input\""), std::string::npos);
  const std::string csp = header(*page, "Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(header(*page, "X-Content-Type-Options"), "nosniff");
  auto dashboard = assets.get("/dashboard");
  ASSERT_TRUE(dashboard);
  EXPECT_NE(dashboard->body.find("data-testid=\"dashboard\""), std::string::npos);
  auto js = assets.get("/ui/chat.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  // The Debian libraries are in the binary (setup.sh installs their packages).
  for (const char* lib : {"/lib/marked.min.js", "/lib/purify.min.js", "/lib/highlight.min.js", "/lib/chart.min.js"}) {
    auto r = assets.get(lib);
    ASSERT_TRUE(r) << lib;
    EXPECT_GT(r->body.size(), 10000u) << lib;
  }
  EXPECT_FALSE(assets.get("/ui/missing.js"));
  EXPECT_FALSE(assets.get("/ui/../CMakeLists.txt"));
  const auto urls = assets.urls();
  EXPECT_NE(std::find(urls.begin(), urls.end(), "/ui/app.css"), urls.end());
}

TEST(UiAssets, RootFolderServesEditsAndRefusesTraversal) {
  const auto dir = std::filesystem::temp_directory_path() / ("tandem-ui-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "index.html") << "<p>edited</p>";
  std::ofstream(dir / "sub" / "x.js") << "secret";
  std::ofstream(dir / ".hidden.js") << "secret";
  UiAssets assets(dir.string());
  auto page = assets.get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->body, "<p>edited</p>");
  EXPECT_FALSE(assets.get("/ui/sub/x.js"));
  EXPECT_FALSE(assets.get("/ui/.hidden.js"));
  EXPECT_FALSE(assets.get("/ui/..%2Fetc"));
  EXPECT_FALSE(assets.get("/ui/chat.js"));  // the folder has none: not the embedded one either
  EXPECT_TRUE(assets.get("/lib/marked.min.js"));  // libraries always come from the binary
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::gateway
