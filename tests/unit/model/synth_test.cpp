// tandem synth (model/synth.h): --layers keeps the preset's layer shapes with fewer layers, the
// file loads, and bad options are refused naming the option.

#include "model/synth.h"

#include <gtest/gtest.h>

#include "model/model.h"

namespace tandem {
namespace {

SynthOptions options(const std::string& preset, int32_t n_layers) {
  SynthOptions o;
  o.preset = preset;
  o.type = "q8_0";
  o.vocab_dir = std::string(TANDEM_SHARED_DIR) + "/reference/tokenizer";
  o.n_layers = n_layers;
  o.n_threads = 2;
  return o;
}

TEST(Synth, FewerLayersKeepTheLayerShapes) {
  const std::string path = ::testing::TempDir() + "/synth-smollm2-2.gguf";
  ASSERT_TRUE(write_synthetic_model(options("smollm2-135m", 2), path));
  auto model = Model::load(path);
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_embd, 576);
  EXPECT_EQ(c.n_ff, 1536);
  EXPECT_EQ(c.n_head, 9);
  EXPECT_EQ(c.n_head_kv, 3);
  EXPECT_NE(c.name.find("(2 layers)"), std::string::npos) << c.name;
}

TEST(Synth, RefusesBadLayerCountsAndPresets) {
  const std::string path = ::testing::TempDir() + "/synth-bad.gguf";
  auto too_many = write_synthetic_model(options("qwen3moe-30b-a3b", 49), path);
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().find("--layers 49 is out of range for qwen3moe-30b-a3b (1 to 48"), std::string::npos)
      << too_many.error();
  auto unknown = write_synthetic_model(options("qwen9", 1), path);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("qwen3moe-30b-a3b"), std::string::npos) << unknown.error();
}

TEST(Synth, Qwen3MoePresetHasTheRealShapes) {
  const SynthShape* shape = nullptr;
  for (const SynthShape& p : synth_presets()) {
    if (p.name == "qwen3moe-30b-a3b") shape = &p;
  }
  ASSERT_NE(shape, nullptr);
  EXPECT_EQ(shape->arch, "qwen3moe");
  EXPECT_EQ(shape->n_layer, 48);
  EXPECT_EQ(shape->n_expert, 128);
  EXPECT_EQ(shape->n_expert_used, 8);
  EXPECT_EQ(shape->n_ff_exp, 768);
  EXPECT_EQ(shape->head_dim * shape->n_head, 4096);
  EXPECT_EQ(shape->n_vocab, 151936);
}

}  // namespace
}  // namespace tandem
