// The issue-10 security options: boolean options (JSON and command line), and the checks on
// model.directory and security.allowed_hosts.
#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace tandem::config {
namespace {

bool has_error(const ConfigReport& report, const std::string& field, const std::string& text) {
  for (const auto& p : report.problems) {
    if (p.severity == Severity::kError && p.field == field && p.message.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(SecurityOptions, DefaultsKeepTheAdminApiOff) {
  const ServerConfig c = default_config();
  EXPECT_TRUE(c.admin_api_keys.empty());
  EXPECT_FALSE(c.admin_on_loopback_without_key);
  EXPECT_TRUE(c.allowed_hosts.empty());
  EXPECT_TRUE(c.model_directory.empty());
}

TEST(SecurityOptions, ReadFromJsonAndCommandLine) {
  LoadedConfig loaded = load_config(
      R"({"model": {"path": "/m.gguf", "directory": "/srv/models"},
          "security": {"admin_api_keys": ["admin-key-0123456789"], "admin_on_loopback_without_key": true,
                       "allowed_hosts": ["localhost", "llm.example.com:8080", "[::1]"]}})",
      "t.json");
  EXPECT_FALSE(loaded.report.has_errors()) << loaded.report.to_string();
  EXPECT_EQ(loaded.config.model_directory, "/srv/models");
  EXPECT_EQ(loaded.config.admin_api_keys, (std::vector<std::string>{"admin-key-0123456789"}));
  EXPECT_TRUE(loaded.config.admin_on_loopback_without_key);
  EXPECT_EQ(loaded.config.allowed_hosts.size(), 3u);

  LoadedConfig cli = load_config("", "", {{"model", "/m.gguf"}, {"security.admin_on_loopback_without_key", "true"}});
  EXPECT_FALSE(cli.report.has_errors()) << cli.report.to_string();
  EXPECT_TRUE(cli.config.admin_on_loopback_without_key);
}

TEST(SecurityOptions, BadValuesNameTheFieldAndTheFix) {
  LoadedConfig loaded = load_config(
      R"({"model": {"path": "/m.gguf", "directory": "models"},
          "security": {"admin_on_loopback_without_key": "yes", "allowed_hosts": ["http://x.example/"],
                       "admin_api_keys": [""]}})",
      "t.json");
  EXPECT_TRUE(has_error(loaded.report, "model.directory", "absolute")) << loaded.report.to_string();
  EXPECT_TRUE(has_error(loaded.report, "security.admin_on_loopback_without_key", "true or false"));
  EXPECT_TRUE(has_error(loaded.report, "security.allowed_hosts", "without scheme or path"));
  EXPECT_TRUE(has_error(loaded.report, "security.admin_api_keys", "empty"));

  LoadedConfig cli = load_config("", "", {{"model", "/m.gguf"}, {"security.admin_on_loopback_without_key", "1"}});
  EXPECT_TRUE(has_error(cli.report, "security.admin_on_loopback_without_key", "true or false"));
}

}  // namespace
}  // namespace tandem::config
