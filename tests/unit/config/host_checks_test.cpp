#include "config/host_checks.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "config/config_loader.h"
#include "gguf/gguf_writer.h"

namespace tandem::config {
namespace {

namespace fs = std::filesystem;

bool has_problem(const ConfigReport& report, Severity severity, const std::string& field, const std::string& text) {
  for (const auto& p : report.problems) {
    if (p.severity == severity && p.field == field && p.message.find(text) != std::string::npos) return true;
  }
  return false;
}

HostFacts fake_host() {
  HostFacts facts;
  facts.addresses = {"127.0.0.1", "10.1.2.3", "::1"};
  facts.physical_cores = 4;
  facts.port_in_use = [](const std::string&, int64_t port) { return port == 9999; };
  return facts;
}

// A GGUF with only the metadata the KV geometry needs (no tensors): 30 layers, 3 KV heads of 64.
class ModelDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tandem_host_checks_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "tiny.gguf").string();
    gguf::GgufWriter w;
    using gguf::Value;
    using gguf::ValueType;
    w.set("general.architecture", Value::make_string("llama"));
    w.set("llama.embedding_length", Value::make_uint(ValueType::UINT32, 576));
    w.set("llama.block_count", Value::make_uint(ValueType::UINT32, 30));
    w.set("llama.feed_forward_length", Value::make_uint(ValueType::UINT32, 1536));
    w.set("llama.attention.head_count", Value::make_uint(ValueType::UINT32, 9));
    w.set("llama.attention.head_count_kv", Value::make_uint(ValueType::UINT32, 3));
    w.set("llama.context_length", Value::make_uint(ValueType::UINT32, 8192));
    w.set("llama.vocab_size", Value::make_uint(ValueType::UINT32, 100));
    ASSERT_TRUE(w.write(model_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  ServerConfig config_for_model() {
    ServerConfig c = default_config();
    c.model_path = model_;
    c.gpu_id = -1;
    return c;
  }

  fs::path dir_;
  std::string model_;
};

TEST(HostChecks, BindAddressMustBelongToThisHost) {
  ServerConfig c = default_config();
  for (const char* ok : {"127.0.0.1", "0.0.0.0", "::", "::1", "10.1.2.3", "localhost", "127.0.0.2"}) {
    ConfigReport r;
    c.bind_address = ok;
    check_bind_address(c, fake_host(), r);
    EXPECT_TRUE(r.problems.empty()) << ok << ": " << r.to_string();
  }
  ConfigReport r;
  c.bind_address = "192.168.1.200";
  check_bind_address(c, fake_host(), r);
  EXPECT_TRUE(has_problem(r, Severity::kError, "network.bind_address", "not an address of this host"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "network.bind_address", "10.1.2.3"));
  ConfigReport r2;
  c.bind_address = "my-server.local";
  check_bind_address(c, fake_host(), r2);
  EXPECT_TRUE(has_problem(r2, Severity::kError, "network.bind_address", "not an IP address"));
}

TEST(HostChecks, RealInterfacesIncludeLoopback) {
  HostFacts facts = host_facts_from_system();
  EXPECT_NE(std::find(facts.addresses.begin(), facts.addresses.end(), "127.0.0.1"), facts.addresses.end());
  EXPECT_GE(facts.physical_cores, 1);
}

TEST(HostChecks, PortInUse) {
  ServerConfig c = default_config();
  c.port = 9999;
  ConfigReport r;
  check_port_free(c, fake_host(), r);
  EXPECT_TRUE(has_problem(r, Severity::kError, "network.port", "already in use"));
}

TEST(HostChecks, RealProbeSeesAListeningSocket) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int port = ntohs(sa.sin_port);
  HostFacts facts = host_facts_from_system();
  EXPECT_TRUE(facts.port_in_use("127.0.0.1", port));
  EXPECT_TRUE(facts.port_in_use("0.0.0.0", port));
  ::close(fd);
  EXPECT_FALSE(facts.port_in_use("127.0.0.1", port));
}

TEST_F(ModelDir, RelativeMissingAndUnreadableModelPaths) {
  ServerConfig c = config_for_model();
  c.model_path = "models/tiny.gguf";
  ConfigReport r1;
  EXPECT_FALSE(check_model_path(c, r1));
  EXPECT_TRUE(has_problem(r1, Severity::kError, "model.path", "relative path; give an absolute one"));

  c.model_path = (dir_ / "missing.gguf").string();
  ConfigReport r2;
  EXPECT_FALSE(check_model_path(c, r2));
  EXPECT_TRUE(has_problem(r2, Severity::kError, "model.path", "does not exist"));

  const std::string junk = (dir_ / "junk.bin").string();
  std::FILE* f = std::fopen(junk.c_str(), "wb");
  std::fputs("not a gguf file at all", f);
  std::fclose(f);
  c.model_path = junk;
  ConfigReport r3;
  EXPECT_FALSE(check_model_path(c, r3));
  EXPECT_TRUE(has_problem(r3, Severity::kError, "model.path", "not a model Tandem can serve"));
}

TEST_F(ModelDir, DirectoryWithOneGgufResolvesToIt) {
  ServerConfig c = config_for_model();
  c.model_path = dir_.string();
  ConfigReport r;
  auto geometry = check_model_path(c, r);
  ASSERT_TRUE(geometry) << r.to_string();
  EXPECT_EQ(c.model_path, model_);
  EXPECT_EQ(geometry->n_layer, 30);
  EXPECT_EQ(geometry->n_head_kv, 3);
  EXPECT_EQ(geometry->head_dim, 64);
  EXPECT_EQ(geometry->bytes_per_token(), 2u * 30 * 3 * 64 * 2);

  fs::copy_file(model_, dir_ / "second.gguf");
  c.model_path = dir_.string();
  ConfigReport r2;
  EXPECT_FALSE(check_model_path(c, r2));
  EXPECT_TRUE(has_problem(r2, Severity::kError, "model.path", "several .gguf files"));
}

TEST_F(ModelDir, KvCacheMustFitCacheSize) {
  ServerConfig c = config_for_model();
  KvGeometry g{30, 3, 64, 8192};  // 23040 bytes per token
  c.context_size = 4096;          // 90 MiB per sequence
  c.max_batch_size = 16;          // 1440 MiB
  c.cache_size = ByteSize{1ull << 30};
  ConfigReport r;
  check_kv_budget(c, g, r);
  EXPECT_TRUE(has_problem(r, Severity::kError, "model.max_batch_size", "need 1.4 GiB of KV cache"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "model.max_batch_size", "lower model.max_batch_size to 11"));
  EXPECT_TRUE(has_problem(r, Severity::kError, "model.max_batch_size", "raise performance.cache_size"));

  c.max_batch_size = 11;
  ConfigReport fits;
  check_kv_budget(c, g, fits);
  EXPECT_TRUE(fits.problems.empty()) << fits.to_string();
}

TEST_F(ModelDir, ContextPastTrainingIsCappedWithAWarning) {
  ServerConfig c = config_for_model();
  c.context_size = 16384;
  ConfigReport r;
  check_kv_budget(c, KvGeometry{30, 3, 64, 8192}, r);
  EXPECT_TRUE(has_problem(r, Severity::kWarning, "model.context_size", "capped at 8192"));
  EXPECT_FALSE(r.has_errors());
}

TEST(HostChecks, ThreadsFarFromOneAndAHalfTimesCoresWarn) {
  ServerConfig c = default_config();
  HostFacts facts = fake_host();  // 4 cores: 6 recommended
  for (int64_t ok : {0, 3, 6, 12}) {
    ConfigReport r;
    c.threads = ok;
    check_threads(c, facts, r);
    EXPECT_TRUE(r.problems.empty()) << ok;
  }
  for (int64_t far : {1, 2, 13, 64}) {
    ConfigReport r;
    c.threads = far;
    check_threads(c, facts, r);
    EXPECT_TRUE(has_problem(r, Severity::kWarning, "performance.threads", "about 6")) << far;
    EXPECT_FALSE(r.has_errors());
  }
}

TEST(HostChecks, DeploymentWarnings) {
  ServerConfig c = default_config();
  c.gpu_id = 0;
  c.bind_address = "0.0.0.0";
  ConfigReport r;
  check_deployment(c, r);
  EXPECT_TRUE(has_problem(r, Severity::kWarning, "model.gpu_id", "CPU"));
  EXPECT_TRUE(has_problem(r, Severity::kWarning, "security.api_keys", "anyone on the network"));
  c.api_keys = {"0123456789abcdef"};
  c.gpu_id = -1;
  ConfigReport quiet;
  check_deployment(c, quiet);
  EXPECT_TRUE(quiet.problems.empty());
}

TEST_F(ModelDir, TheIssueExampleWithARealAddressAndModelLoads) {
  const std::string text = R"({
    "network": {"bind_address": "10.1.2.3", "port": 8080, "protocol": "http"},
    "model": {"path": ")" + model_ + R"(", "max_batch_size": 16, "gpu_id": 0},
    "performance": {"threads": 8, "cache_size": "4GB"} })";
  LoadedConfig loaded = load_config(text, "tandem.json");
  check_host(loaded.config, fake_host(), loaded.report);
  EXPECT_FALSE(loaded.report.has_errors()) << loaded.report.to_string();
}

TEST_F(ModelDir, EveryProblemIsListedAtOnce) {
  ServerConfig c = config_for_model();
  c.bind_address = "192.168.1.200";
  c.model_path = "relative.gguf";
  c.threads = 64;
  ConfigReport r;
  check_host(c, fake_host(), r);
  EXPECT_TRUE(has_problem(r, Severity::kError, "network.bind_address", ""));
  EXPECT_TRUE(has_problem(r, Severity::kError, "model.path", ""));
  EXPECT_TRUE(has_problem(r, Severity::kWarning, "performance.threads", ""));
}

}  // namespace
}  // namespace tandem::config
