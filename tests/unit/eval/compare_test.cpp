#include "eval/compare.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "eval_test_util.h"
#include "quantize/model_quantizer.h"
#include "tandem/engine.h"

namespace tandem::eval {
namespace {

using test::corpus;

std::unique_ptr<Engine> load(const std::string& path, int32_t n_ctx) { return test::load_engine(path, n_ctx); }

void quantize(const std::string& in, const std::string& out, const std::string& type) {
  auto file = gguf::GgufFile::open(in);
  ASSERT_TRUE(file);
  auto plan = quantize::plan_quantization(*file, quantize::parse_quant_target(type).value());
  ASSERT_TRUE(plan);
  quantize::QuantizeOptions o;
  o.output_path = out;
  auto r = quantize::quantize_model(*file, in, *plan, o);
  ASSERT_TRUE(r) << r.error();
}

TEST(Compare, Q8_0OfStoriesKeepsTopOneAgreementAbove99Percent) {
  test::TempDir dir;
  quantize(test::stories_path(), dir.file("q8_0.gguf"), "q8_0");
  auto base = load(test::stories_path(), 128);
  auto cand = load(dir.file("q8_0.gguf"), 128);
  auto chunks = make_chunks(base->tokenizer(), corpus(), 128, -1);
  ASSERT_TRUE(chunks);
  auto r = compare_models(*base, *cand, *chunks);
  ASSERT_TRUE(r) << r.error();
  // On this text 71 of 1575 scored positions are near-ties for the F32 model (top two logits
  // within 0.1): rounding anywhere swaps them. Measured: Tandem 98.73% (98.48% before the packed
  // kernels: float order alone moves it), and llama.cpp, running the same (bit-identical) Q8_0
  // file against the same F32 file, 98.41%. Where the base is decisive the quantized model agrees
  // at 99.67% to 99.93%.
  EXPECT_GE(r->top1_agreement, 0.98);
  EXPECT_GE(r->top1_agreement_decisive, 0.99);
  EXPECT_GT(r->n_decisive, 1400);
  EXPECT_LT(r->kl_mean, 0.01);
  EXPECT_GE(r->kl_p99, r->kl_mean);
  EXPECT_GE(r->kl_max, r->kl_p99);
  EXPECT_NEAR(r->ppl_ratio, r->ppl_candidate / r->ppl_base, 1e-9);
  EXPECT_NEAR(r->ppl_ratio, 1.0, 0.01);
  EXPECT_GT(r->n_scored, 1000);
}

TEST(Compare, AModelAgainstItselfIsIdentical) {
  auto a = load(test::stories_path(), 64);
  auto b = load(test::stories_path(), 64);
  auto chunks = make_chunks(a->tokenizer(), corpus(), 64, 4);
  ASSERT_TRUE(chunks);
  auto r = compare_models(*a, *b, *chunks);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->top1_agreement, 1.0);
  EXPECT_LT(r->kl_max, 1e-12);
  EXPECT_DOUBLE_EQ(r->ppl_ratio, 1.0);
}

TEST(Compare, RefusesModelsWithDifferentVocabularies) {
  auto a = load(test::stories_path(), 64);
  auto b = load(std::string(TANDEM_SHARED_DIR) + "/models/llama-2-tiny-random.gguf", 64);
  auto chunks = make_chunks(a->tokenizer(), corpus(), 64, 2);
  ASSERT_TRUE(chunks);
  auto r = compare_models(*a, *b, *chunks);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("do not share a vocabulary (512 vs 32000 tokens)"), std::string::npos) << r.error();
}

TEST(Compare, SideBySideReportsAreSelfContainedAndEscaped) {
  auto a = load(test::stories_path(), 256);
  auto b = load(test::stories_path(), 256);
  auto answers = answer_side_by_side(*a, *b, {"Once upon a time <b>Tom</b> | said"}, 12);
  ASSERT_TRUE(answers) << answers.error();
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].first_divergence, -1);
  EXPECT_EQ((*answers)[0].base_answer, (*answers)[0].candidate_answer);
  CompareResult m;
  m.top1_agreement = 0.995;
  const ReportHeader header{"a.gguf", "b & c.gguf", "text.txt"};
  const std::string html = render_html_report(header, m, *answers);
  EXPECT_NE(html.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(html.find("b &amp; c.gguf"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;Tom&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // nothing fetched from elsewhere
  EXPECT_NE(html.find("99.50%"), std::string::npos);
  const std::string md = render_markdown_report(header, m, *answers);
  EXPECT_NE(md.find("| Top-1 agreement | 99.50%"), std::string::npos) << md;
  EXPECT_NE(md.find("\\| said"), std::string::npos) << md;  // a pipe cannot break the table
  EXPECT_NE(md.find("identical answers"), std::string::npos);
}

}  // namespace
}  // namespace tandem::eval
