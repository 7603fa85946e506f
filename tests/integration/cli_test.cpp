// Runs the real `tandem` binary as a user would and checks what it prints and how it exits.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

const std::string kBinary = TANDEM_BINARY;
const std::string kShared = TANDEM_SHARED_DIR;
const std::string kStories = kShared + "/models/stories260K.gguf";
const std::string kSmolLM2 = std::string(TANDEM_MODELS_CACHE) + "/SmolLM2-135M-Instruct.Q4_1.gguf";

struct CommandResult {
  int exit_code = -1;
  bool crashed = false;  // ended by a signal
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `tandem ARGS` with optional stdin text; stdout and stderr are captured apart.
CommandResult run_tandem(const std::string& args, const std::string& input = "") {
  // Per process: ctest runs the tests in parallel, each in its own process.
  const std::string dir = ::testing::TempDir() + "/" + std::to_string(::getpid());
  const std::string in_path = dir + "_tandem_stdin.txt";
  const std::string err_path = dir + "_tandem_stderr.txt";
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string cmd = quote(kBinary) + " " + args + " <" + quote(in_path) + " 2>" + quote(err_path);
  CommandResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.crashed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) > 128);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_file(err_path);
  return r;
}

TEST(Cli, RunStreamsOnlyTheGreedyContinuation) {
  std::ifstream in(kShared + "/reference/generation/stories260K.greedy.json");
  const auto reference = nlohmann::json::parse(in);
  for (const auto& record : reference) {
    const auto n = record["greedy_tokens"].size();
    auto r = run_tandem("run -m " + quote(kStories) + " -p " + quote(record["prompt"]) + " -n " + std::to_string(n) +
                        " --temp 0");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, record["greedy_text"].get<std::string>());
  }
}

TEST(Cli, RunWithSeedIsReproducible) {
  const std::string args = "run -m " + quote(kStories) + " -p 'Once upon a time' -n 24 --temp 0.9 --seed 42";
  auto a = run_tandem(args);
  auto b = run_tandem(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_FALSE(a.out.empty());
}

TEST(Cli, RunStopsAtStopString) {
  // The greedy story continues ", there was a little girl named Lily."
  auto r = run_tandem("run -m " + quote(kStories) + " -p 'Once upon a time' -n 40 --temp 0 --stop girl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ", there was a little ");
}

TEST(Cli, TokenizePrintsIdsOnOneLine) {
  auto r = run_tandem("tokenize -m " + quote(kStories) + " -p 'Once upon a time'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 403 407 261 378\n");
  auto no_bos = run_tandem("tokenize -m " + quote(kStories) + " --no-bos -p 'Once upon a time'");
  EXPECT_EQ(no_bos.out, "403 407 261 378\n");
}

TEST(Cli, InspectShowsMetadataAndTensors) {
  auto r = run_tandem("inspect " + quote(kStories));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("llama.block_count"), std::string::npos);
  EXPECT_NE(r.out.find("blk.4.ffn_down.weight"), std::string::npos);
  EXPECT_NE(r.out.find("tensors (48)"), std::string::npos);
}

TEST(Cli, RefusesObsoleteGgufWithClearMessage) {
  const std::string v1 = kShared + "/models/invalid/gguf-v1-stories260k.gguf";
  for (const std::string& cmd : {"inspect " + quote(v1), "run -m " + quote(v1) + " -p hi"}) {
    auto r = run_tandem(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd;
    EXPECT_FALSE(r.crashed);
    EXPECT_NE(r.err.find("GGUF version 1 is obsolete and not supported"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

// A generated set of broken files: truncations at several depths and corrupted fields.
TEST(Cli, RefusesTruncatedAndCorruptedFilesWithClearMessages) {
  const std::string original = read_file(kStories);
  const std::string dir = ::testing::TempDir();
  struct Case {
    std::string name;
    std::string bytes;
    std::string expected;
  };
  std::vector<Case> cases;
  for (size_t cut : {size_t{3}, size_t{20}, size_t{100}, size_t{5000}, size_t{14000}, size_t{600000}}) {
    cases.push_back({"cut" + std::to_string(cut), original.substr(0, cut), cut < 4 ? "too short" : "truncated"});
  }
  std::string bad_magic = original;
  bad_magic[0] = 'X';
  cases.push_back({"magic", bad_magic, "not a GGUF file"});
  std::string bad_version = original;
  bad_version[4] = 9;
  cases.push_back({"version", bad_version, "unsupported GGUF version 9"});
  std::string huge_kv = original;
  huge_kv[16 + 7] = 0x7f;  // top byte of the metadata count
  cases.push_back({"kv count", huge_kv, "metadata entries, more than the file can hold"});
  std::string bad_string = original;
  bad_string[24 + 6] = 0x10;  // first key's length becomes about 2^52
  cases.push_back({"key length", bad_string, "claims"});
  for (const Case& c : cases) {
    const std::string path = dir + "/broken-" + c.name + ".gguf";
    std::ofstream(path, std::ios::binary) << c.bytes;
    for (const std::string& cmd : {"inspect " + quote(path), "run -m " + quote(path) + " -p hi"}) {
      auto r = run_tandem(cmd);
      EXPECT_EQ(r.exit_code, 1) << c.name << ": " << cmd;
      EXPECT_FALSE(r.crashed) << c.name;
      EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ": " << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    }
  }
}

TEST(Cli, MissingModelFileIsAClearError) {
  auto r = run_tandem("run -m /nonexistent/model.gguf -p hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.gguf: cannot open"), std::string::npos) << r.err;
}

TEST(Cli, ChatAnswersThroughTheTemplate) {
  if (!std::filesystem::exists(kSmolLM2)) GTEST_SKIP() << "run scripts/fetch_models.sh first";
  auto r = run_tandem("chat -m " + quote(kSmolLM2) + " --temp 0 -n 48", "What is the capital of Germany?\n/exit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Berlin"), std::string::npos) << r.out;
}

}  // namespace
