// The issue-10 admin and browser checks as plain functions: the Host allow-list, the request
// screen (Host, Origin), admin access, and how /admin/model/load resolves and vets a file.
// test_admin_security.py drives the same through the real server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include "app/admin_access.h"
#include "app/file_worker.h"
#include "app/model_directory.h"
#include "http/host_allowlist.h"
#include "http/request_screen.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using http::HttpRequest;

HttpRequest request(std::string method, http::Headers headers, std::string client = "127.0.0.1:40000") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = "/admin/model/unload";
  r.headers = std::move(headers);
  r.client = std::move(client);
  return r;
}

TEST(HostAllowlist, ParsesHostHeaders) {
  EXPECT_EQ(http::host_name("Example.COM:8080"), "example.com");
  EXPECT_EQ(http::host_port("Example.COM:8080"), "8080");
  EXPECT_EQ(http::host_name("[::1]:8080"), "::1");
  EXPECT_EQ(http::host_port("[::1]:8080"), "8080");
  EXPECT_EQ(http::host_name("[::1]"), "::1");
  EXPECT_EQ(http::host_name("localhost."), "localhost");
  EXPECT_EQ(http::host_name(""), "");
}

TEST(HostAllowlist, KnowsLoopback) {
  for (const char* name : {"localhost", "api.localhost", "127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(http::is_loopback_name(name)) << name;
  }
  for (const char* name : {"", "localhost.evil.example", "128.0.0.1", "10.0.0.1", "::2", "evil.example"}) {
    EXPECT_FALSE(http::is_loopback_name(name)) << name;
  }
  EXPECT_TRUE(http::is_loopback_client("127.0.0.1:5000"));
  EXPECT_TRUE(http::is_loopback_client("::1:5000"));
  EXPECT_TRUE(http::is_loopback_client("::ffff:127.0.0.1:5000"));
  EXPECT_FALSE(http::is_loopback_client("192.168.1.4:5000"));
  EXPECT_FALSE(http::is_loopback_client(""));
}

TEST(HostAllowlist, MatchesNamesAndOptionalPorts) {
  const http::HostAllowlist off({});
  EXPECT_TRUE(off.allows("anything.example"));
  const http::HostAllowlist list({"localhost", "LLM.example.com:8080", "[::1]"});
  EXPECT_TRUE(list.allows("localhost:9000"));
  EXPECT_TRUE(list.allows("llm.example.com:8080"));
  EXPECT_FALSE(list.allows("llm.example.com:8081"));
  EXPECT_FALSE(list.allows("llm.example.com"));
  EXPECT_TRUE(list.allows("[::1]:8080"));
  EXPECT_FALSE(list.allows("rebind.evil.example:8080"));
  EXPECT_FALSE(list.allows(""));
}

TEST(RequestScreen, RefusesUnlistedHostsAndForeignOriginsOnWrites) {
  const http::RequestScreen screen({"localhost"}, {"https://ui.example"});
  auto refused = screen.check(request("GET", {{"host", "evil.example"}}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->code, "host_not_allowed");
  EXPECT_NE(refused->message.find("security.allowed_hosts"), std::string::npos);
  EXPECT_TRUE(screen.check(request("GET", {})));  // no Host while a list is set
  EXPECT_FALSE(screen.check(request("GET", {{"host", "localhost:8080"}, {"origin", "https://evil.example"}})));
  refused = screen.check(request("POST", {{"host", "localhost:8080"}, {"origin", "https://evil.example"}}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, "origin_not_allowed");
  EXPECT_NE(refused->message.find("cors.allowed_origins"), std::string::npos);
  EXPECT_FALSE(screen.check(request("POST", {{"host", "localhost"}, {"origin", "https://ui.example"}})));
  EXPECT_FALSE(screen.check(request("POST", {{"host", "localhost"}})));  // not a browser
  EXPECT_FALSE(screen.check(request("OPTIONS", {{"host", "localhost"}, {"origin", "https://evil.example"}})));
  // A sandboxed page sends "null"; it is refused like any unlisted origin.
  EXPECT_TRUE(http::RequestScreen({}, {}).check(request("POST", {{"origin", "null"}})));
}

std::optional<std::string> admin_code(const server::AdminAccess& access, const HttpRequest& r) {
  auto refused = server::check_admin_request(access, r);
  if (!refused) return std::nullopt;
  return refused->code;
}

const http::Headers kJsonLocal = {{"host", "127.0.0.1:8080"}, {"content-type", "application/json"}};

http::Headers with(http::Headers h, std::string name, std::string value) {
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

TEST(AdminAccess, OffUntilConfigured) {
  const server::AdminAccess off;
  auto refused = server::check_admin_request(off, request("POST", kJsonLocal));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(refused->code, "admin_api_disabled");
  EXPECT_NE(refused->message.find("security.admin_api_keys"), std::string::npos);
  EXPECT_NE(refused->message.find("security.admin_on_loopback_without_key"), std::string::npos);
}

TEST(AdminAccess, UserKeysNeverGrantAdmin) {
  const server::AdminAccess access{{"admin-key-0001"}, {"user-key-0001"}, false, {}};
  EXPECT_EQ(admin_code(access, request("POST", with(kJsonLocal, "authorization", "Bearer user-key-0001"))),
            "admin_key_required");
  EXPECT_EQ(admin_code(access, request("POST", with(kJsonLocal, "authorization", "Bearer nope"))), "invalid_api_key");
  EXPECT_EQ(admin_code(access, request("POST", kJsonLocal)), "invalid_api_key");  // loopback is not a key
  EXPECT_EQ(admin_code(access, request("POST", with(kJsonLocal, "authorization", "Bearer admin-key-0001"))),
            std::nullopt);
}

TEST(AdminAccess, NeedsJsonAndAListedOrigin) {
  const server::AdminAccess access{{"admin-key-0001"}, {}, false, {"https://ui.example"}};
  const http::Headers keyed = {{"host", "127.0.0.1"}, {"authorization", "Bearer admin-key-0001"}};
  auto refused = server::check_admin_request(access, request("POST", with(keyed, "content-type", "text/plain")));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 415);
  EXPECT_EQ(admin_code(access, request("POST", keyed)), "unsupported_media_type");
  EXPECT_EQ(admin_code(access, request("POST", with(keyed, "content-type", "Application/JSON; charset=utf-8"))),
            std::nullopt);
  const http::Headers json = with(keyed, "content-type", "application/json");
  EXPECT_EQ(admin_code(access, request("POST", with(json, "origin", "https://evil.example"))), "origin_not_allowed");
  EXPECT_EQ(admin_code(access, request("POST", with(json, "origin", "https://ui.example"))), std::nullopt);
}

TEST(AdminAccess, LoopbackWithoutKeyNeedsALoopbackPeerAndHost) {
  const server::AdminAccess access{{}, {}, true, {}};
  EXPECT_EQ(admin_code(access, request("POST", kJsonLocal)), std::nullopt);
  EXPECT_EQ(admin_code(access, request("POST", {{"host", "localhost:8080"}, {"content-type", "application/json"}},
                                       "::1:4000")),
            std::nullopt);
  // A DNS-rebound page: the peer is loopback, the Host is the attacker's name.
  EXPECT_EQ(admin_code(access, request("POST", {{"host", "rebind.evil.example:8080"},
                                                {"content-type", "application/json"}})),
            "admin_host_not_loopback");
  EXPECT_EQ(admin_code(access, request("POST", kJsonLocal, "10.1.2.3:4000")), "admin_api_loopback_only");
}

class ModelDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("tandem-model-dir-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "models" / "sub");
    dir_ = root_ / "models";
    std::ofstream(dir_ / "passwd.gguf") << "root:x:0:0:root:/root:/bin/bash\n";
    std::ofstream(root_ / "secret.gguf") << "GGUF-looking secret outside";
    fs::create_symlink(root_ / "secret.gguf", dir_ / "escape.gguf");
    fs::create_symlink("passwd.gguf", dir_ / "alias.gguf");
    ASSERT_EQ(::mkfifo((dir_ / "pipe.gguf").c_str(), 0600), 0);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_, dir_;
};

TEST_F(ModelDirectoryTest, ResolvesInsideOnlyAndSaysTheSameForEverythingElse) {
  const server::ModelDirectory models(dir_.string());
  ASSERT_TRUE(models.configured());
  EXPECT_EQ(models.resolve("passwd.gguf").value(), fs::canonical(dir_ / "passwd.gguf").string());
  EXPECT_EQ(models.resolve((dir_ / "alias.gguf").string()).value(), fs::canonical(dir_ / "passwd.gguf").string());
  std::string first;
  for (const std::string& asked : std::vector<std::string>{"missing.gguf", "escape.gguf", "../secret.gguf", "/etc/passwd", "/etc", ".",
                                                           (root_ / "secret.gguf").string(), "sub/../../secret.gguf"}) {
    auto r = models.resolve(asked);
    ASSERT_FALSE(r) << asked;
    std::string message = r.error();
    message.replace(message.find(asked), asked.size(), "X");
    if (first.empty()) first = message;
    EXPECT_EQ(message, first) << asked;
  }
  EXPECT_FALSE(models.resolve(std::string("passwd.gguf\0/etc/passwd", 23)));
  EXPECT_FALSE(models.resolve(""));
}

TEST_F(ModelDirectoryTest, VettingRefusesFifosAtOnceAndQuotesNoBytes) {
  // O_NONBLOCK: opening a FIFO with no writer would otherwise block this thread for good. Should
  // that come back, the test opens the writing end itself to free the thread, and fails.
  const std::string pipe = (dir_ / "pipe.gguf").string();
  auto pending = std::async(std::launch::async, [&pipe] { return server::vet_model_file(pipe, "pipe.gguf"); });
  const bool answered_at_once = pending.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!answered_at_once) ::close(::open(pipe.c_str(), O_WRONLY));
  auto fifo = pending.get();
  EXPECT_TRUE(answered_at_once) << "opening a FIFO blocked";
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().find("not a regular file"), std::string::npos) << fifo.error();
  auto text = server::vet_model_file((dir_ / "passwd.gguf").string(), "passwd.gguf");
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().find("not a GGUF file"), std::string::npos) << text.error();
  EXPECT_EQ(text.error().find("root"), std::string::npos) << text.error();
  EXPECT_EQ(text.error().find("magic"), std::string::npos) << text.error();
  EXPECT_FALSE(server::vet_model_file((dir_ / "sub").string(), "sub"));
  EXPECT_FALSE(server::vet_model_file((dir_ / "missing.gguf").string(), "missing.gguf"));
}

TEST_F(ModelDirectoryTest, VettingAcceptsARealModel) {
  const fs::path model = fs::path(TANDEM_SHARED_DIR) / "models" / "stories260K.gguf";
  if (!fs::exists(model)) GTEST_SKIP() << model << " is missing";
  fs::copy_file(model, dir_ / "stories.gguf");
  const server::ModelDirectory models(dir_.string());
  auto resolved = models.resolve("stories.gguf");
  ASSERT_TRUE(resolved) << resolved.error();
  auto vetted = server::vet_model_file(*resolved, "stories.gguf");
  ASSERT_TRUE(vetted) << vetted.error();
  EXPECT_EQ(*vetted, *resolved);
}

TEST(FileWorker, RunsTasksInOrderAndFinishesThemBeforeItIsDestroyed) {
  std::vector<int> seen;
  {
    server::FileWorker worker;
    for (int i = 0; i < 5; ++i) worker.post([&seen, i] { seen.push_back(i); });
    worker.post([] { throw std::runtime_error("a task that throws is logged, not fatal"); });
    worker.post([&seen] { seen.push_back(5); });
  }
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace tandem
