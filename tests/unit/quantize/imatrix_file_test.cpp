#include "quantize/imatrix_file.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace tandem::quantize {
namespace {

TEST(ImatrixFile, RoundTripsInLlamaCppsLayout) {
  Imatrix im;
  im.datasets = {"stories.txt"};
  im.chunk_count = 3;
  im.chunk_size = 128;
  im.entries["blk.0.attn_q.weight"] = ImatrixEntry{{1.0f, 4.0f, 9.0f, 0.5f}, {2.0f}};
  im.entries["blk.0.ffn_down_exps.weight"] = ImatrixEntry{{1, 2, 3, 4, 5, 6}, {1.0f, 0.0f}};  // two experts
  test::TempDir dir;
  const std::string path = dir.file("im.gguf");
  ASSERT_TRUE(write_imatrix(im, path));

  // The layout llama-quantize reads: general.type, datasets, chunk metadata, .in_sum2 / .counts.
  auto raw = gguf::GgufFile::open(path);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->get_string("general.type"), "imatrix");
  EXPECT_EQ(raw->get_int("imatrix.chunk_count"), 3);
  EXPECT_EQ(raw->get_int("imatrix.chunk_size"), 128);
  const gguf::TensorInfo* sums = raw->find_tensor("blk.0.ffn_down_exps.weight.in_sum2");
  ASSERT_NE(sums, nullptr);
  EXPECT_EQ(sums->shape, (std::vector<int64_t>{3, 2}));
  ASSERT_NE(raw->find_tensor("blk.0.attn_q.weight.counts"), nullptr);

  auto back = read_imatrix(path);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->datasets, im.datasets);
  EXPECT_EQ(back->chunk_count, 3u);
  EXPECT_EQ(back->chunk_size, 128u);
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_EQ(back->entries.at("blk.0.attn_q.weight").in_sum2, im.entries.at("blk.0.attn_q.weight").in_sum2);
  EXPECT_EQ(back->entries.at("blk.0.ffn_down_exps.weight").counts, (std::vector<float>{1.0f, 0.0f}));

  // Importance is the mean square; an expert never routed to gets the neutral 1.
  EXPECT_EQ(back->importance("blk.0.attn_q.weight"), (std::vector<float>{0.5f, 2.0f, 4.5f, 0.25f}));
  EXPECT_EQ(back->importance("blk.0.ffn_down_exps.weight"), (std::vector<float>{1, 2, 3, 1, 1, 1}));
  EXPECT_TRUE(back->importance("blk.1.attn_q.weight").empty());
}

TEST(ImatrixFile, RefusesFilesThatAreNotImatrices) {
  auto model = read_imatrix(test::stories_path());
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().find("not an imatrix file"), std::string::npos) << model.error();
  auto missing = read_imatrix("/nonexistent/im.gguf");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("legacy .dat layout is not read"), std::string::npos) << missing.error();
}

}  // namespace
}  // namespace tandem::quantize
