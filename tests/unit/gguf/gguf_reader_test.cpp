#include "gguf/gguf_reader.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <random>

#include "../../support/hostile_gguf.h"
#include "gguf/gguf_writer.h"

namespace tandem::gguf {
namespace {

using tandem::testing::GgufBytes;

const std::string kStories = std::string(TANDEM_SHARED_DIR) + "/models/stories260K.gguf";

std::string parse_error(const std::vector<uint8_t>& bytes) {
  auto file = GgufFile::parse(bytes);
  return file ? "" : file.error();
}

TEST(GgufReader, ReadsRealModelMetadataAndTensors) {
  auto file = GgufFile::open(kStories);
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->get_string("general.architecture"), "llama");
  EXPECT_EQ(file->get_int("llama.block_count"), 5);
  EXPECT_NEAR(*file->get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
  const Array* tokens = file->get_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->items.size(), 512u);
  EXPECT_EQ(*tokens->items[1].as_string(), "<s>");
  EXPECT_EQ(file->tensors().size(), 48u);
  const TensorInfo* embd = file->find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, GgmlType::F32);
  EXPECT_EQ(embd->shape, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embd->n_bytes, 64u * 512 * 4);
  EXPECT_EQ(embd->n_rows(), 512);
  // Views point into the mapping, inside the file.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(embd->data) % 32, 0u);
  EXPECT_EQ(file->find("no.such.key"), nullptr);
  EXPECT_FALSE(file->get_int("general.architecture"));  // wrong type -> nullopt
}

TEST(GgufReader, RefusesVersion1WithClearMessage) {
  auto file = GgufFile::open(std::string(TANDEM_SHARED_DIR) + "/models/invalid/gguf-v1-stories260k.gguf");
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().find("GGUF version 1 is obsolete"), std::string::npos) << file.error();
}

TEST(GgufReader, RefusesMissingFileAndDirectory) {
  auto missing = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot open"), std::string::npos);
  auto dir = GgufFile::open("/tmp");
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().find("not a regular file"), std::string::npos);
}

// A FIFO as a model path must be refused, not wait forever for a writer (issue 10, item 4).
TEST(GgufReader, RefusesAFifoWithoutBlocking) {
  const std::string fifo = ::testing::TempDir() + "/model-fifo-" + std::to_string(::getpid()) + ".gguf";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto opened = std::async(std::launch::async, [&] { return GgufFile::open(fifo); });
  const bool returned = opened.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!returned) {
    // Unblock the open so the test ends with a failure instead of hanging.
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) ::close(writer);
  }
  ASSERT_TRUE(returned);
  auto file = opened.get();
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().find("not a regular file"), std::string::npos);
  ::unlink(fifo.c_str());
}

TEST(GgufWriter, RoundTripsEveryValueTypeAndTensors) {
  GgufWriter w;
  w.set("u8", Value::make_uint(ValueType::UINT8, 200));
  w.set("i8", Value::make_int(ValueType::INT8, -100));
  w.set("u16", Value::make_uint(ValueType::UINT16, 60000));
  w.set("i16", Value::make_int(ValueType::INT16, -30000));
  w.set("u32", Value::make_uint(ValueType::UINT32, 4000000000u));
  w.set("i32", Value::make_int(ValueType::INT32, -2000000000));
  w.set("u64", Value::make_uint(ValueType::UINT64, 1ull << 60));
  w.set("i64", Value::make_int(ValueType::INT64, -(1ll << 60)));
  w.set("f32", Value::make_float(ValueType::FLOAT32, 1.5));
  w.set("f64", Value::make_float(ValueType::FLOAT64, 2.25));
  w.set("bool", Value::make_bool(true));
  w.set("str", Value::make_string("héllo"));
  w.set("arr", Value::make_array(ValueType::STRING, {Value::make_string("a"), Value::make_string("")}));
  w.set("nested", Value::make_array(ValueType::ARRAY, {Value::make_array(ValueType::INT32, {Value::make_int(ValueType::INT32, 7)})}));
  std::vector<float> data(64 * 3);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i);
  w.add_tensor("t.weight", GgmlType::F32, {64, 3}, data.data(), data.size() * 4);
  std::vector<uint8_t> q4(ggml_row_size(GgmlType::Q4_0, 64), 0x11);
  w.add_tensor("q.weight", GgmlType::Q4_0, {64}, q4.data(), q4.size());

  auto file = GgufFile::parse(w.to_bytes());
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->find("u8")->as_uint(), 200u);
  EXPECT_EQ(file->find("u8")->type(), ValueType::UINT8);
  EXPECT_EQ(file->get_int("i8"), -100);
  EXPECT_EQ(file->get_int("u16"), 60000);
  EXPECT_EQ(file->get_int("i16"), -30000);
  EXPECT_EQ(file->get_int("u32"), 4000000000ll);
  EXPECT_EQ(file->get_int("i32"), -2000000000);
  EXPECT_EQ(file->find("u64")->as_uint(), 1ull << 60);
  EXPECT_EQ(file->get_int("i64"), -(1ll << 60));
  EXPECT_EQ(file->get_float("f32"), 1.5);
  EXPECT_EQ(file->get_float("f64"), 2.25);
  EXPECT_EQ(file->get_bool("bool"), true);
  EXPECT_EQ(file->get_string("str"), "héllo");
  ASSERT_NE(file->get_array("arr"), nullptr);
  EXPECT_EQ(*file->get_array("arr")->items[0].as_string(), "a");
  EXPECT_EQ(file->get_array("nested")->items[0].as_array()->items[0].as_int(), 7);
  const TensorInfo* t = file->find_tensor("t.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{64, 3}));
  EXPECT_EQ(std::memcmp(t->data, data.data(), data.size() * 4), 0);
  const TensorInfo* q = file->find_tensor("q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::Q4_0);
  EXPECT_EQ(q->data[0], 0x11);
}

TEST(GgufWriter, WritesFileThatReopens) {
  GgufWriter w;
  w.set("general.architecture", Value::make_string("llama"));
  const std::string path = ::testing::TempDir() + "/written.gguf";
  ASSERT_TRUE(w.write(path));
  auto file = GgufFile::open(path);
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->get_string("general.architecture"), "llama");
  EXPECT_FALSE(w.write("/nonexistent-dir/x.gguf"));
}

// Every prefix of a valid file is refused with a message, never a crash.
TEST(GgufReader, EveryTruncationIsRefused) {
  auto real = GgufFile::open(kStories);
  ASSERT_TRUE(real);
  std::FILE* f = std::fopen(kStories.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> bytes(real->file_size());
  ASSERT_EQ(std::fread(bytes.data(), 1, bytes.size(), f), bytes.size());
  std::fclose(f);
  // Every cut in the header and metadata, then a stride through the tensor data.
  std::vector<size_t> cuts;
  for (size_t n = 0; n < real->data_offset() + 64; ++n) cuts.push_back(n);
  for (size_t n = real->data_offset(); n < bytes.size(); n += 4093) cuts.push_back(n);
  cuts.push_back(bytes.size() - 1);
  for (size_t n : cuts) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    std::string err = parse_error(prefix);
    ASSERT_FALSE(err.empty()) << "prefix of " << n << " bytes was accepted";
    ASSERT_TRUE(err.find("truncated") != std::string::npos || err.find("too short") != std::string::npos ||
                err.find("corrupt") != std::string::npos)
        << n << ": " << err;
  }
}

// Random corruption of the header region: each result is either a file or an error.
TEST(GgufReader, RandomCorruptionNeverCrashes) {
  std::FILE* f = std::fopen(kStories.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> bytes(16384);
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
  std::fclose(f);
  std::mt19937 rng(1234);
  int refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> copy = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) copy[rng() % 14176] = static_cast<uint8_t>(rng());
    auto file = GgufFile::parse(copy);
    if (!file) {
      ++refused;
      EXPECT_FALSE(file.error().empty());
    }
  }
  EXPECT_GT(refused, 100);
}

struct HostileCase {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* expected;
};

std::vector<HostileCase> hostile_cases() {
  std::vector<HostileCase> cases;
  cases.push_back({"bad magic", GgufBytes().put<uint32_t>(0x12345678).put<uint32_t>(3).bytes, "not a GGUF file"});
  cases.push_back({"empty", {}, "too short"});
  cases.push_back({"version 4", GgufBytes().header(4, 0, 0).bytes, "unsupported GGUF version 4"});
  cases.push_back({"big endian", GgufBytes().header(0x03000000, 0, 0).bytes, "big-endian"});
  cases.push_back({"huge kv count", GgufBytes().header(3, 0, 1ull << 62).bytes, "metadata entries"});
  cases.push_back({"huge tensor count", GgufBytes().header(3, 1ull << 62, 0).bytes, "tensors, more than"});
  cases.push_back({"huge key length", GgufBytes().header(3, 0, 1).put<uint64_t>(1ull << 40).bytes, "claims"});
  cases.push_back({"unknown value type", GgufBytes().header(3, 0, 1).str("k").put<uint32_t>(99).put<uint32_t>(0).bytes,
                   "unknown value type 99"});
  cases.push_back({"huge array", GgufBytes().header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(1ull << 61).bytes,
                   "metadata array claims"});
  cases.push_back({"huge string array",
                   GgufBytes().header(3, 0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(3).put<uint64_t>(1ull << 50).bytes,
                   "claims"});
  {
    GgufBytes b;
    b.header(3, 0, 1).str("k").put<uint32_t>(9);
    for (int i = 0; i < 6; ++i) b.put<uint32_t>(9).put<uint64_t>(1);
    b.bytes.resize(b.bytes.size() + 64, 0);
    cases.push_back({"deep nesting", b.bytes, "nested deeper"});
  }
  cases.push_back({"bad bool", GgufBytes().header(3, 0, 1).str("k").put<uint32_t>(7).put<uint8_t>(7).bytes, "not 0 or 1"});
  cases.push_back({"duplicate key",
                   GgufBytes().header(3, 0, 2).str("k").put<uint32_t>(4).put<uint32_t>(1).str("k").put<uint32_t>(4).put<uint32_t>(1).bytes,
                   "duplicate metadata key"});
  cases.push_back({"bad alignment",
                   GgufBytes().header(3, 0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(3).bytes,
                   "power of two"});
  auto tensor = [](uint32_t n_dims, std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data = 64) {
    GgufBytes b;
    b.header(3, 1, 0).str("w").put<uint32_t>(n_dims);
    for (uint64_t d : dims) b.put<uint64_t>(d);
    b.put<uint32_t>(type).put<uint64_t>(offset).pad();
    b.bytes.resize(b.bytes.size() + data, 0);
    return b.bytes;
  };
  cases.push_back({"five dims", tensor(5, {1, 1, 1, 1, 1}, 0, 0), "1 to 4 are allowed"});
  cases.push_back({"zero dims", tensor(0, {}, 0, 0), "1 to 4 are allowed"});
  cases.push_back({"unknown tensor type", tensor(1, {16}, 77, 0), "unknown type id 77"});
  cases.push_back({"element overflow", tensor(2, {1ull << 40, 1ull << 40}, 0, 0), "more elements than fit"});
  cases.push_back({"dimension too large", tensor(1, {1ull << 63}, 0, 0), "larger than 2^63"});
  cases.push_back({"block misfit", tensor(1, {31}, 2, 0), "not a multiple of its block size"});
  cases.push_back({"misaligned offset", tensor(1, {4}, 0, 4), "not aligned"});
  cases.push_back({"past the end", tensor(1, {1024}, 0, 0), "extends past the end"});
  cases.push_back({"offset past the end", tensor(1, {4}, 0, 1ull << 40), "extends past the end"});
  {
    GgufBytes b;
    b.header(3, 2, 0);
    for (int i = 0; i < 2; ++i) b.str("w").put<uint32_t>(1).put<uint64_t>(4).put<uint32_t>(0).put<uint64_t>(0);
    b.pad();
    b.bytes.resize(b.bytes.size() + 64, 0);
    cases.push_back({"duplicate tensor", b.bytes, "duplicate tensor name"});
  }
  return cases;
}

TEST(GgufReader, HostileFilesGetClearMessages) {
  for (const HostileCase& c : hostile_cases()) {
    std::string err = parse_error(c.bytes);
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.name << ": got \"" << err << "\"";
  }
}

}  // namespace
}  // namespace tandem::gguf
