#include "quantize/quant_plan.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace tandem::quantize {
namespace {

const TensorPlan& find(const QuantPlan& plan, const std::string& name) {
  for (const TensorPlan& t : plan.tensors) {
    if (t.name == name) return t;
  }
  ADD_FAILURE() << "no tensor " << name;
  return plan.tensors.front();
}

QuantPlan plan_stories(const std::string& type) {
  auto file = gguf::GgufFile::open(test::stories_path());
  EXPECT_TRUE(file) << file.error();
  auto target = parse_quant_target(type);
  EXPECT_TRUE(target) << target.error();
  auto plan = plan_quantization(*file, *target);
  EXPECT_TRUE(plan) << plan.error();
  return std::move(plan).value();
}

TEST(QuantTarget, ParsesEveryAdvertisedName) {
  for (std::string_view name : quant_target_names()) {
    auto t = parse_quant_target(name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(t->name, name);
  }
  auto upper = parse_quant_target("Q4_K_M");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->base, GgmlType::Q4_K);
  EXPECT_TRUE(upper->mix_m);
  EXPECT_EQ(upper->file_type, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
}

TEST(QuantTarget, RefusesUnknownTypesListingTheValidOnes) {
  auto t = parse_quant_target("q3_xs");
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("unknown quantization type 'q3_xs'"), std::string::npos) << t.error();
  EXPECT_NE(t.error().find("q4_k_m"), std::string::npos) << t.error();
}

TEST(QuantPlan, KeepsNormsAndOneDimensionalTensors) {
  QuantPlan plan = plan_stories("q4_0");
  EXPECT_EQ(find(plan, "output_norm.weight").to, GgmlType::F32);
  EXPECT_EQ(find(plan, "blk.0.attn_norm.weight").to, GgmlType::F32);
  EXPECT_EQ(find(plan, "blk.0.attn_q.weight").to, GgmlType::Q4_0);
}

TEST(QuantPlan, FallsBackWhenRowsDoNotFitTheBlockAndSaysSo) {
  // stories260K: n_embd 64 (not a multiple of 256), n_ff 172 (not even a multiple of 32).
  QuantPlan plan = plan_stories("q4_k");
  const TensorPlan& q = find(plan, "blk.0.attn_q.weight");
  EXPECT_EQ(q.to, GgmlType::Q5_0);
  EXPECT_TRUE(q.fallback);
  EXPECT_EQ(q.note, "64 columns are not a multiple of Q4_K's block of 256; using Q5_0 instead");
  const TensorPlan& down = find(plan, "blk.0.ffn_down.weight");
  EXPECT_EQ(down.to, GgmlType::F16);
  EXPECT_EQ(down.note, "172 columns are not a multiple of Q4_K's block of 256; using F16 instead");
  // The output projection takes Q8_0 when its rows do not fit the target's block (llama.cpp's rule).
  EXPECT_EQ(find(plan, "output.weight").to, GgmlType::Q8_0);
  EXPECT_EQ(plan.n_fallback, 36);

  QuantPlan legacy = plan_stories("q4_0");
  const TensorPlan& down0 = find(legacy, "blk.3.ffn_down.weight");
  EXPECT_EQ(down0.to, GgmlType::F16);
  EXPECT_EQ(down0.note, "172 columns are not a multiple of Q4_0's block of 32; using F16 instead");
}

TEST(QuantPlan, MixesGiveMoreBitsToTheLayersThatMatter) {
  test::TempDir dir;
  const std::string path = dir.file("wide.gguf");
  test::write_wide_f16_model(path, 8);
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file) << file.error();
  auto plan = plan_quantization(*file, parse_quant_target("q4_k_m").value());
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->n_fallback, 0);
  EXPECT_EQ(find(*plan, "output.weight").to, GgmlType::Q6_K);
  EXPECT_EQ(find(*plan, "token_embd.weight").to, GgmlType::Q4_K);
  EXPECT_EQ(find(*plan, "blk.0.attn_q.weight").to, GgmlType::Q4_K);
  // use_more_bits with 8 layers: layer 0 (first eighth), 7 (last eighth), and 3, 6 (every third).
  for (int layer = 0; layer < 8; ++layer) {
    const bool more = layer == 0 || layer == 7 || layer == 3 || layer == 6;
    const std::string p = "blk." + std::to_string(layer) + ".";
    EXPECT_EQ(find(*plan, p + "attn_v.weight").to, more ? GgmlType::Q6_K : GgmlType::Q4_K) << layer;
    EXPECT_EQ(find(*plan, p + "ffn_down.weight").to, more ? GgmlType::Q6_K : GgmlType::Q4_K) << layer;
    EXPECT_EQ(find(*plan, p + "ffn_up.weight").to, GgmlType::Q4_K) << layer;
  }
  auto q80 = plan_quantization(*file, parse_quant_target("q8_0").value());
  ASSERT_TRUE(q80);
  EXPECT_EQ(find(*q80, "output.weight").to, GgmlType::Q8_0);
}

TEST(QuantPlan, TiedEmbeddingsGetTheOutputRule) {
  // No output.weight: the token embedding is also the output projection.
  auto stories = gguf::GgufFile::open(test::stories_path());
  ASSERT_TRUE(stories);
  gguf::GgufWriter w;
  for (const auto& [k, v] : stories->metadata()) w.set(k, v);
  std::vector<float> embd(256 * 512, 0.01f);
  w.add_tensor("token_embd.weight", GgmlType::F32, {256, 512}, embd.data(), embd.size() * sizeof(float));
  test::TempDir dir;
  ASSERT_TRUE(w.write(dir.file("tied.gguf")));
  auto file = gguf::GgufFile::open(dir.file("tied.gguf"));
  ASSERT_TRUE(file);
  auto plan = plan_quantization(*file, parse_quant_target("q4_0").value());
  ASSERT_TRUE(plan);
  EXPECT_EQ(find(*plan, "token_embd.weight").to, GgmlType::Q6_K);
}

TEST(QuantPlan, WarnsThatAQuantizedInputIsDequantizedFirst) {
  auto stories = gguf::GgufFile::open(test::stories_path());
  ASSERT_TRUE(stories);
  gguf::GgufWriter w;
  for (const auto& [k, v] : stories->metadata()) w.set(k, v);
  std::vector<uint8_t> q(18 * 64, 0);  // 64 x 32 values of Q4_0
  w.add_tensor("blk.0.attn_q.weight", GgmlType::Q4_0, {32, 64}, q.data(), q.size());
  test::TempDir dir;
  ASSERT_TRUE(w.write(dir.file("q.gguf")));
  auto file = gguf::GgufFile::open(dir.file("q.gguf"));
  ASSERT_TRUE(file);
  auto plan = plan_quantization(*file, parse_quant_target("q8_0").value());
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_NE(plan->warnings[0].find("already quantized"), std::string::npos) << plan->warnings[0];
  EXPECT_NE(plan->warnings[0].find("dequantized first"), std::string::npos) << plan->warnings[0];
  // The same type is copied, not re-quantized, and needs no warning.
  auto same = plan_quantization(*file, parse_quant_target("q4_0").value());
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->warnings.empty());
}

TEST(QuantPlan, RefusesTensorsItCannotRead) {
  auto stories = gguf::GgufFile::open(test::stories_path());
  ASSERT_TRUE(stories);
  gguf::GgufWriter w;
  for (const auto& [k, v] : stories->metadata()) w.set(k, v);
  std::vector<uint8_t> q(18 * 4, 0);  // IQ4_NL: 32 values in 18 bytes
  w.add_tensor("blk.0.attn_q.weight", GgmlType::IQ4_NL, {32, 4}, q.data(), q.size());
  test::TempDir dir;
  ASSERT_TRUE(w.write(dir.file("iq.gguf")));
  auto file = gguf::GgufFile::open(dir.file("iq.gguf"));
  ASSERT_TRUE(file) << file.error();
  auto plan = plan_quantization(*file, parse_quant_target("q8_0").value());
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error(), "tensor blk.0.attn_q.weight is stored as IQ4_NL, which Tandem cannot read back to convert it "
                          "to Q8_0");
}

}  // namespace
}  // namespace tandem::quantize
