// The streaming side of GgufWriter (used by the quantizer for models larger than memory).

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "gguf/gguf_writer.h"
#include "test_models.h"

namespace tandem::gguf {
namespace {

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(GgufWriterStreaming, WritesTheSameBytesAsTheInMemoryWriter) {
  std::vector<float> a(40);
  std::vector<float> b(7);
  std::vector<float> c(64);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = -static_cast<float>(i);
  for (size_t i = 0; i < c.size(); ++i) c[i] = 0.5f * static_cast<float>(i);

  GgufWriter memory;
  memory.set("general.name", Value::make_string("streamed"));
  memory.add_tensor("a", GgmlType::F32, {8, 5}, a.data(), a.size() * 4);
  memory.add_tensor("b", GgmlType::F32, {7}, b.data(), b.size() * 4);
  memory.add_tensor("c", GgmlType::F32, {64}, c.data(), c.size() * 4);

  test::TempDir dir;
  GgufWriter stream;
  stream.set("general.name", Value::make_string("streamed"));
  stream.add_tensor_info("a", GgmlType::F32, {8, 5});
  stream.add_tensor("b", GgmlType::F32, {7}, b.data(), b.size() * 4);  // stored: written when its turn comes
  stream.add_tensor_info("c", GgmlType::F32, {64});
  ASSERT_TRUE(stream.open(dir.file("s.gguf")));
  ASSERT_TRUE(stream.write_tensor_data(a.data(), 24 * 4));  // in pieces
  ASSERT_TRUE(stream.write_tensor_data(a.data() + 24, 16 * 4));
  ASSERT_TRUE(stream.write_tensor_data(c.data(), c.size() * 4));
  ASSERT_TRUE(stream.finish());

  EXPECT_EQ(read_all(dir.file("s.gguf")), memory.to_bytes());
  auto file = GgufFile::open(dir.file("s.gguf"));
  ASSERT_TRUE(file) << file.error();
  EXPECT_EQ(file->find_tensor("b")->n_bytes, 28u);
}

TEST(GgufWriterStreaming, FinishNamesATensorThatWasNeverWritten) {
  test::TempDir dir;
  GgufWriter w;
  w.add_tensor_info("first", GgmlType::F32, {4});
  w.add_tensor_info("second", GgmlType::F32, {4});
  ASSERT_TRUE(w.open(dir.file("x.gguf")));
  const float v[4] = {1, 2, 3, 4};
  ASSERT_TRUE(w.write_tensor_data(v, sizeof v));
  auto done = w.finish();
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error(), dir.file("x.gguf") + ": tensor second was never written");
}

TEST(GgufWriterStreaming, OpenReportsAnUncreatableFile) {
  GgufWriter w;
  auto ok = w.open("/nonexistent/dir/x.gguf");
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().find("/nonexistent/dir/x.gguf: cannot create"), std::string::npos);
}

}  // namespace
}  // namespace tandem::gguf
