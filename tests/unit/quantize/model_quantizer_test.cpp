#include "quantize/model_quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "tandem/engine.h"
#include "test_models.h"

namespace tandem::quantize {
namespace {

// Relative RMS error ||dequantized - original|| / ||original|| that each stored type may add to
// Gaussian weights (a few times the expected rounding error of the format).
double error_bound(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16: return 0.0;
    case GgmlType::BF16: return 0.004;
    case GgmlType::Q8_0: return 0.01;
    case GgmlType::Q6_K: return 0.03;
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q5_K: return 0.06;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q4_K: return 0.13;
    default: return -1.0;
  }
}

Result<QuantizeReport> quantize_file(const std::string& in, const std::string& out, const std::string& type,
                                     const Imatrix* imatrix = nullptr) {
  auto file = gguf::GgufFile::open(in);
  if (!file) return Error{file.error()};
  auto target = parse_quant_target(type);
  if (!target) return Error{target.error()};
  auto plan = plan_quantization(*file, *target);
  if (!plan) return Error{plan.error()};
  QuantizeOptions options;
  options.output_path = out;
  options.imatrix = imatrix;
  options.n_threads = 2;
  return quantize_model(*file, in, *plan, options);
}

class EveryType : public ::testing::TestWithParam<std::string_view> {};

TEST_P(EveryType, WritesAFileTheEngineLoadsAndThatReproducesTheInput) {
  test::TempDir dir;
  const std::string in = dir.file("wide.gguf");
  test::write_wide_f16_model(in, 2);
  const std::string out = dir.file("out.gguf");
  auto report = quantize_file(in, out, std::string(GetParam()));
  ASSERT_TRUE(report) << report.error();

  auto original = gguf::GgufFile::open(in);
  auto quantized = gguf::GgufFile::open(out);
  ASSERT_TRUE(original && quantized);
  EXPECT_EQ(quantized->get_int("general.file_type"), parse_quant_target(GetParam()).value().file_type);
  EXPECT_EQ(quantized->get_int("general.quantization_version"), 2);
  EXPECT_EQ(quantized->get_string("tokenizer.ggml.model"), original->get_string("tokenizer.ggml.model"));
  ASSERT_EQ(quantized->tensors().size(), original->tensors().size());
  for (size_t i = 0; i < original->tensors().size(); ++i) {
    const gguf::TensorInfo& a = original->tensors()[i];
    const gguf::TensorInfo& b = quantized->tensors()[i];
    ASSERT_EQ(a.name, b.name);
    ASSERT_EQ(a.shape, b.shape);
    const std::vector<float> x = test::tensor_floats(a);
    const std::vector<float> y = test::tensor_floats(b);
    double err = 0.0;
    double norm = 0.0;
    for (size_t j = 0; j < x.size(); ++j) {
      err += (x[j] - y[j]) * static_cast<double>(x[j] - y[j]);
      norm += x[j] * static_cast<double>(x[j]);
    }
    const double bound = error_bound(b.type);
    ASSERT_GE(bound, 0.0) << b.name << " has unexpected type " << ggml_type_name(b.type);
    EXPECT_LE(std::sqrt(err / norm), bound) << b.name << " as " << ggml_type_name(b.type);
  }

  EngineOptions options;
  options.model_path = out;
  options.n_ctx = 64;
  options.n_threads = 1;
  auto engine = Engine::load(options);
  ASSERT_TRUE(engine) << engine.error();
  auto logits = (*engine)->evaluate((*engine)->tokenize_prompt("Once upon a time"));
  ASSERT_TRUE(logits) << logits.error();
  for (float v : logits->back()) ASSERT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(QuantizeModel, EveryType, ::testing::ValuesIn(quant_target_names()),
                         [](const auto& p) { return std::string(p.param); });

TEST(QuantizeModel, Q4KMOfAnF16ModelIsAtMostThirtyTwoPercentOfItsSize) {
  test::TempDir dir;
  const std::string in = dir.file("wide.gguf");
  test::write_wide_f16_model(in, 4);
  auto report = quantize_file(in, dir.file("q4km.gguf"), "q4_k_m");
  ASSERT_TRUE(report) << report.error();
  const double ratio = static_cast<double>(report->output_bytes) / static_cast<double>(report->input_bytes);
  EXPECT_LE(ratio, 0.32);
  EXPECT_GT(ratio, 0.25);
}

TEST(QuantizeModel, StoriesF16ToQ8_0MatchesTheDirectConversion) {
  // An F16 file made by the quantizer itself, then quantized again: what users do with an F32 original.
  test::TempDir dir;
  ASSERT_TRUE(quantize_file(test::stories_path(), dir.file("f16.gguf"), "f16"));
  auto f16 = gguf::GgufFile::open(dir.file("f16.gguf"));
  ASSERT_TRUE(f16);
  EXPECT_EQ(f16->find_tensor("blk.0.ffn_down.weight")->type, GgmlType::F16);
  EXPECT_EQ(f16->find_tensor("blk.0.attn_norm.weight")->type, GgmlType::F32);
}

TEST(QuantizeModel, RefusesToOverwriteItsInput) {
  test::TempDir dir;
  const std::string in = dir.file("wide.gguf");
  test::write_wide_f16_model(in, 1);
  auto report = quantize_file(in, in, "q8_0");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(), "the output " + in + " is the input file; choose another path");
  EXPECT_TRUE(gguf::GgufFile::open(in));  // untouched
}

TEST(QuantizeModel, RefusesAnImatrixOfAnotherModel) {
  test::TempDir dir;
  const std::string in = dir.file("wide.gguf");
  test::write_wide_f16_model(in, 1);
  Imatrix wrong;
  wrong.entries["blk.0.attn_q.weight"] = ImatrixEntry{std::vector<float>(64, 1.0f), {10.0f}};
  auto report = quantize_file(in, dir.file("out.gguf"), "q4_k", &wrong);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error(),
            "the imatrix entry for blk.0.attn_q.weight has 64 values but the tensor has 256 columns: was the imatrix "
            "computed on another model?");
  Imatrix unrelated;
  unrelated.entries["blk.9.mystery.weight"] = ImatrixEntry{std::vector<float>(8, 1.0f), {1.0f}};
  auto none = quantize_file(in, dir.file("out.gguf"), "q4_k", &unrelated);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("none of the imatrix's 1 entries names a tensor of this model"), std::string::npos);
}

TEST(QuantizeModel, UsesAMatchingImatrix) {
  test::TempDir dir;
  const std::string in = dir.file("wide.gguf");
  test::write_wide_f16_model(in, 1);
  Imatrix im;
  for (const char* name : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
    std::vector<float> sums(256);
    for (size_t i = 0; i < sums.size(); ++i) sums[i] = 1.0f + static_cast<float>(i % 7);
    im.entries[name] = ImatrixEntry{sums, {4.0f}};
  }
  auto report = quantize_file(in, dir.file("out.gguf"), "q4_k_m", &im);
  ASSERT_TRUE(report) << report.error();
  EXPECT_EQ(report->n_with_importance, 3);
  EXPECT_FALSE(report->notes.empty());  // the other matrices are named as not covered
}

}  // namespace
}  // namespace tandem::quantize
