#include "eval/imatrix_collector.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "eval_test_util.h"
#include "model/model.h"
#include "quantize/model_quantizer.h"
#include "tandem/engine.h"
#include "tokenizer/tokenizer.h"

namespace tandem::eval {
namespace {

using test::corpus;

std::unique_ptr<Engine> load(const std::string& path, int32_t n_ctx) { return test::load_engine(path, n_ctx); }

TEST(Imatrix, CollectsEveryMatrixAndDrivesTheQuantizer) {
  auto engine = load(test::stories_path(), 128);
  ImatrixOptions o;
  o.n_ctx = 128;
  o.max_chunks = 4;
  o.n_threads = 1;
  o.dataset = "stories.txt";
  auto run = collect_imatrix(engine->model(), engine->tokenizer(), corpus(), o);
  ASSERT_TRUE(run) << run.error();
  EXPECT_EQ(run->n_chunks, 4);
  EXPECT_EQ(run->n_tokens, 512);
  // Seven matrices per layer (q, k, v, output, gate, up, down), five layers; output.weight only on request.
  EXPECT_EQ(run->imatrix.entries.size(), 35u);
  const auto& down = run->imatrix.entries.at("blk.4.ffn_down.weight");
  EXPECT_EQ(down.in_sum2.size(), 172u);
  EXPECT_EQ(down.counts, std::vector<float>{512.0f});
  EXPECT_EQ(run->imatrix.entries.at("blk.0.attn_q.weight").in_sum2,
            run->imatrix.entries.at("blk.0.attn_v.weight").in_sum2);  // they share their input
  EXPECT_LT(run->ppl, 10.0);

  test::TempDir dir;
  ASSERT_TRUE(quantize::write_imatrix(run->imatrix, dir.file("im.gguf")));
  auto back = quantize::read_imatrix(dir.file("im.gguf"));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->entries.size(), 35u);
  EXPECT_EQ(back->entries.at("blk.4.ffn_down.weight").in_sum2, down.in_sum2);
  EXPECT_EQ(back->datasets, std::vector<std::string>{"stories.txt"});
  EXPECT_EQ(back->chunk_count, 4u);

  auto file = gguf::GgufFile::open(test::stories_path());
  ASSERT_TRUE(file);
  auto plan = quantize::plan_quantization(*file, quantize::parse_quant_target("q4_0").value());
  ASSERT_TRUE(plan);
  quantize::QuantizeOptions qo;
  qo.output_path = dir.file("q4_0.gguf");
  qo.imatrix = &*back;
  auto report = quantize::quantize_model(*file, test::stories_path(), *plan, qo);
  ASSERT_TRUE(report) << report.error();
  EXPECT_EQ(report->n_with_importance, 30);  // ffn_down falls back to F16, which needs none
  EXPECT_TRUE(load(dir.file("q4_0.gguf"), 64));
}

TEST(Imatrix, RefusesATextShorterThanOneChunk) {
  auto engine = load(test::stories_path(), 128);
  ImatrixOptions o;
  o.n_ctx = 128;
  auto run = collect_imatrix(engine->model(), engine->tokenizer(), "Once upon a time.", o);
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().find("less than one chunk of 128"), std::string::npos) << run.error();
}

}  // namespace
}  // namespace tandem::eval
