// imatrix on a hybrid model (qwen3next): the gated DeltaNet layers' projections get entries
// under their own tensor names, beside the attention layers' ones.

#include <gtest/gtest.h>

#include "../model/tiny_qwen3next.h"
#include "eval/imatrix_collector.h"
#include "eval_test_util.h"
#include "tandem/engine.h"

namespace tandem::eval {
namespace {

TEST(ImatrixHybrid, DeltaNetLayersReportTheirOwnMatrices) {
  const std::string path = tandem::test::write_qwen3next("qwen3next_imatrix.gguf", "", 0, test::stories_path());
  auto engine = test::load_engine(path, 64);
  ASSERT_NE(engine, nullptr);
  ImatrixOptions o;
  o.n_ctx = 64;
  o.max_chunks = 2;
  o.n_threads = 1;
  auto run = collect_imatrix(engine->model(), engine->tokenizer(), test::corpus(), o);
  ASSERT_TRUE(run) << run.error();
  const auto& e = run->imatrix.entries;
  // Layer 0 is DeltaNet: its input projections share the normed input, ssm_out reads value_dim.
  for (const char* name : {"blk.0.attn_qkv.weight", "blk.0.attn_gate.weight", "blk.0.ssm_ba.weight"}) {
    ASSERT_TRUE(e.count(name)) << name;
    EXPECT_EQ(e.at(name).in_sum2.size(), 64u) << name;
  }
  EXPECT_EQ(e.at("blk.0.attn_qkv.weight").in_sum2, e.at("blk.0.ssm_ba.weight").in_sum2);
  ASSERT_TRUE(e.count("blk.0.ssm_out.weight"));
  EXPECT_EQ(e.at("blk.0.ssm_out.weight").in_sum2.size(), 64u);  // d_inner
  EXPECT_FALSE(e.count("blk.0.attn_output.weight"));
  // Layer 1 is gated attention.
  EXPECT_TRUE(e.count("blk.1.attn_q.weight"));
  EXPECT_TRUE(e.count("blk.1.attn_output.weight"));
  EXPECT_FALSE(e.count("blk.1.ssm_out.weight"));
}

}  // namespace
}  // namespace tandem::eval
