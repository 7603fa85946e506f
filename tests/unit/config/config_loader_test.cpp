#include "config/config_loader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_options.h"

namespace tandem::config {
namespace {

bool has_problem(const ConfigReport& report, Severity severity, const std::string& field, const std::string& text) {
  for (const auto& p : report.problems) {
    if (p.severity == severity && p.field == field && p.message.find(text) != std::string::npos) return true;
  }
  return false;
}

// The example from the issue: every key is known and well typed.
constexpr const char* kIssueExample = R"({
  "network": {"bind_address": "192.168.1.200", "port": 8080, "protocol": "http"},
  "model": {"path": "/models/qwen3-next-80b", "max_batch_size": 16, "gpu_id": 0},
  "performance": {"threads": 8, "cache_size": "4GB"} })";

TEST(ConfigLoader, LoadsTheIssueExample) {
  LoadedConfig loaded = load_config(kIssueExample, "tandem.json");
  EXPECT_TRUE(loaded.report.problems.empty()) << loaded.report.to_string();
  const ServerConfig& c = loaded.config;
  EXPECT_EQ(c.bind_address, "192.168.1.200");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.protocol, "http");
  EXPECT_EQ(c.model_path, "/models/qwen3-next-80b");
  EXPECT_EQ(c.max_batch_size, 16);
  EXPECT_EQ(c.gpu_id, 0);
  EXPECT_EQ(c.threads, 8);
  EXPECT_EQ(c.cache_size.bytes, 4000000000u);
}

TEST(ConfigLoader, DefaultsComeFromTheTable) {
  ServerConfig c = default_config();
  EXPECT_EQ(c.bind_address, "127.0.0.1");
  EXPECT_EQ(c.port, 8080);
  EXPECT_EQ(c.context_size, 4096);
  EXPECT_EQ(c.cache_size.bytes, 1ull << 30);
  EXPECT_EQ(c.max_body_bytes.bytes, 4ull << 20);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.api_keys.empty());
  for (const auto& spec : option_table()) EXPECT_FALSE(spec.help.empty()) << spec.path;
}

TEST(ConfigLoader, ModelPathIsRequired) {
  LoadedConfig loaded = load_config(R"({"network": {"port": 9000}})", "t.json");
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "model.path", "required"));
}

TEST(ConfigLoader, CommandLineOverridesTheFileByPathOrShortFlag) {
  LoadedConfig loaded = load_config(kIssueExample, "tandem.json",
                                    {{"network.port", "9000"}, {"threads", "3"}, {"api-key", "k1,k2"},
                                     {"performance.cache_size", "512MiB"}});
  EXPECT_FALSE(loaded.report.has_errors()) << loaded.report.to_string();
  EXPECT_EQ(loaded.config.port, 9000);
  EXPECT_EQ(loaded.config.threads, 3);
  EXPECT_EQ(loaded.config.api_keys, (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(loaded.config.cache_size.bytes, 512ull << 20);
}

TEST(ConfigLoader, CommandLineAloneNeedsNoFile) {
  LoadedConfig loaded = load_config("", "", {{"model", "/m.gguf"}, {"port", "9001"}});
  EXPECT_FALSE(loaded.report.has_errors()) << loaded.report.to_string();
  EXPECT_EQ(loaded.config.model_path, "/m.gguf");
}

TEST(ConfigLoader, BadCommandLineValuesNameTheFlag) {
  LoadedConfig loaded = load_config("", "", {{"model", "/m.gguf"}, {"port", "eighty"}, {"prot", "1"}});
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "network.port", "--port"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "--prot", "did you mean --port?"));
  LoadedConfig typo = load_config("", "", {{"model", "/m.gguf"}, {"network.prot", "1"}, {"bind_adress", "x"}});
  EXPECT_TRUE(has_problem(typo.report, Severity::kError, "--network.prot", "did you mean --network.port?"));
  EXPECT_TRUE(has_problem(typo.report, Severity::kError, "--bind_adress", "did you mean --network.bind_address?"));
}

TEST(ConfigLoader, WrongTypesAreErrorsThatSayWhatWasExpected) {
  LoadedConfig loaded = load_config(
      R"({"network": {"port": "8080", "bind_address": 7}, "model": {"path": "/m", "max_batch_size": 1.5},
          "security": {"api_keys": "one"}, "performance": {"cache_size": true}})",
      "t.json");
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "network.port", "expected an integer"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "network.bind_address", "expected a string"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "model.max_batch_size", "expected an integer"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "security.api_keys", "list of strings"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "performance.cache_size", "4GB"));
  EXPECT_EQ(loaded.report.count(Severity::kError), 5u) << loaded.report.to_string();
}

TEST(ConfigLoader, SectionThatIsNotAnObject) {
  LoadedConfig loaded = load_config(R"({"network": 8080, "model": {"path": "/m"}})", "t.json");
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "network", "bind_address, port, protocol"));
}

TEST(ConfigLoader, UnknownKeysWarnWithSuggestions) {
  LoadedConfig loaded = load_config(
      R"({"network": {"prot": 8080}, "netwrk": {"port": 1}, "model": {"path": "/m"}, "zzz": 1})", "t.json");
  EXPECT_FALSE(loaded.report.has_errors()) << loaded.report.to_string();
  EXPECT_TRUE(has_problem(loaded.report, Severity::kWarning, "network.prot", "did you mean network.port?"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kWarning, "netwrk.port", "did you mean network.port?"));
  EXPECT_TRUE(has_problem(loaded.report, Severity::kWarning, "zzz", "unknown option"));
  EXPECT_FALSE(has_problem(loaded.report, Severity::kWarning, "zzz", "did you mean"));
}

TEST(ConfigLoader, RangesAndChoices) {
  LoadedConfig loaded = load_config(
      R"({"network": {"port": 80, "protocol": "https"}, "model": {"path": "/m", "max_batch_size": 0},
          "logging": {"level": "verbose"}, "cors": {"allowed_origins": ["example.com"]},
          "security": {"api_keys": ["has space"]}, "limits": {"max_body_bytes": "10"}})",
      "t.json");
  const auto& r = loaded.report;
  EXPECT_TRUE(has_problem(r, Severity::kError, "network.port", "privileged"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "network.protocol", "reverse proxy"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "model.max_batch_size", "outside 1..1024"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "logging.level", "error, warn, info, debug"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "cors.allowed_origins", "https://"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "security.api_keys", "printable ASCII"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "limits.max_body_bytes", "outside"));
  EXPECT_TRUE(has_problem(load_config(R"({"model": {"path": "/m"}, "network": {"port": 70000}})", "t").report,
                          Severity::kError, "network.port", "not a TCP port"));
}

TEST(ConfigLoader, MalformedJsonIsOneClearError) {
  LoadedConfig loaded = load_config(R"({"network": {"port": 8080,}})", "broken.json");
  EXPECT_TRUE(has_problem(loaded.report, Severity::kError, "", "broken.json is not valid JSON"));
  EXPECT_TRUE(has_problem(load_config("[1]", "a.json").report, Severity::kError, "", "must hold a JSON object"));
}

TEST(ConfigLoader, CommentsAreAllowed) {
  LoadedConfig loaded = load_config("{ // the model\n \"model\": {\"path\": \"/m\"} }", "t.json");
  EXPECT_FALSE(loaded.report.has_errors()) << loaded.report.to_string();
}

TEST(ConfigLoader, ReportListsEveryErrorBeforeWarnings) {
  LoadedConfig loaded = load_config(R"({"x": 1, "network": {"port": 1}, "model": {"path": 3}})", "t.json");
  const std::string text = loaded.report.to_string();
  EXPECT_LT(text.find("error: network.port"), text.find("warning: x"));
  EXPECT_NE(text.find("error: model.path"), std::string::npos);
}

TEST(ConfigLoader, FileThatCannotBeReadOrIsEmpty) {
  EXPECT_TRUE(has_problem(load_config_file("/nonexistent/tandem.json").report, Severity::kError, "", "cannot read"));
  const auto path = std::filesystem::temp_directory_path() / "tandem_empty_config.json";
  std::ofstream(path) << "  \n";
  EXPECT_TRUE(has_problem(load_config_file(path.string()).report, Severity::kError, "", "is empty"));
  std::filesystem::remove(path);
}

TEST(ConfigLoader, TheExampleFileHasEveryOptionAtItsDefault) {
  const std::string path = std::string(TANDEM_TEST_DATA) + "/../../server/tandem.example.json";
  LoadedConfig loaded = load_config_file(path);
  EXPECT_TRUE(loaded.report.problems.empty()) << loaded.report.to_string();
  ServerConfig expected = default_config();
  expected.model_path = loaded.config.model_path;
  EXPECT_EQ(loaded.config.port, expected.port);
  EXPECT_EQ(loaded.config.cache_size, expected.cache_size);
  EXPECT_EQ(loaded.config.max_body_bytes, expected.max_body_bytes);
  EXPECT_EQ(loaded.config.log_level, expected.log_level);
  // Every option appears in the example.
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& spec : option_table()) {
    const std::string leaf(spec.path.substr(spec.path.rfind('.') + 1));
    EXPECT_NE(text.str().find("\"" + leaf + "\""), std::string::npos) << spec.path;
  }
}

TEST(ConfigOptions, ReferenceNamesEveryOption) {
  const std::string reference = options_reference();
  for (const auto& spec : option_table()) {
    EXPECT_NE(reference.find("--" + std::string(spec.path)), std::string::npos) << spec.path;
    EXPECT_EQ(find_option(spec.path), &spec);
  }
  EXPECT_EQ(find_option("port"), find_option("network.port"));
  EXPECT_EQ(find_option("nonexistent"), nullptr);
}

}  // namespace
}  // namespace tandem::config
