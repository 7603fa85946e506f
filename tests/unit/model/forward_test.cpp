#include "model/forward.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gguf/gguf_writer.h"

namespace tandem {
namespace {

const std::string kStories = std::string(TANDEM_SHARED_DIR) + "/models/stories260K.gguf";

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

TEST(Forward, LoadsStoriesConfig) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  EXPECT_EQ(c.n_layer, 5);
  EXPECT_EQ(c.n_embd, 64);
  EXPECT_EQ(c.n_head, 8);
  EXPECT_EQ(c.n_head_kv, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.n_vocab, 512);
  EXPECT_EQ(c.rope.style, cpu::RopeStyle::kNormal);
}

// Greedy decoding straight on the model layer, before any tokenizer: tokens from the reference.
TEST(Forward, GreedyDecodeMatchesLlamaCppOnStories) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model) << model.error();
  std::ifstream in(std::string(TANDEM_SHARED_DIR) + "/reference/generation/stories260K.greedy.json");
  const auto reference = nlohmann::json::parse(in);
  const ModelConfig& c = (*model)->config();
  KvCache kv(c.n_layer, 512, c.kv_dim(), 1);
  ForwardState state(c, 64, 512);
  for (const auto& record : reference) {
    kv.clear(0);
    auto prompt = record["prompt_tokens"].get<std::vector<int32_t>>();
    auto expected = record["greedy_tokens"].get<std::vector<int32_t>>();
    forward(**model, kv, 0, prompt, state, false);
    std::vector<int32_t> got;
    for (size_t i = 0; i < expected.size(); ++i) {
      got.push_back(argmax(state.logits(0)));
      const int32_t one[1] = {got.back()};
      forward(**model, kv, 0, one, state, false);
    }
    EXPECT_EQ(got, expected) << record["prompt"];
  }
}

// Prefill in one batch, in chunks, and token by token leave the same logits.
TEST(Forward, ChunkedPrefillEqualsOneShot) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model);
  const ModelConfig& c = (*model)->config();
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
  KvCache kv(c.n_layer, 64, c.kv_dim(), 2);
  ForwardState state(c, 16, 64);
  forward(**model, kv, 0, tokens, state, false);
  std::vector<float> one_shot(state.logits(0).begin(), state.logits(0).end());
  for (size_t i = 0; i < tokens.size(); i += 3) {
    const size_t n = std::min<size_t>(3, tokens.size() - i);
    forward(**model, kv, 1, std::span(tokens).subspan(i, n), state, false);
  }
  auto chunked = state.logits(0);
  for (size_t i = 0; i < one_shot.size(); ++i) EXPECT_NEAR(chunked[i], one_shot[i], 1e-4f);
  EXPECT_EQ(kv.length(0), 10);
  EXPECT_EQ(kv.length(1), 10);
}

std::string load_error(const gguf::GgufWriter& w) {
  const std::string path = ::testing::TempDir() + "/bad-model.gguf";
  EXPECT_TRUE(w.write(path));
  auto model = Model::load(path);
  return model ? "" : model.error();
}

TEST(Forward, RefusesModelsWithClearMessages) {
  using gguf::Value;
  using gguf::ValueType;
  gguf::GgufWriter w;
  w.set("general.architecture", Value::make_string("mamba"));
  EXPECT_NE(load_error(w).find("architecture 'mamba' is not supported"), std::string::npos);
  w.set("general.architecture", Value::make_string("llama"));
  EXPECT_NE(load_error(w).find("lacks required key llama.embedding_length"), std::string::npos);
  w.set("llama.embedding_length", Value::make_uint(ValueType::UINT32, 64));
  w.set("llama.block_count", Value::make_uint(ValueType::UINT32, 1));
  w.set("llama.feed_forward_length", Value::make_uint(ValueType::UINT32, 128));
  w.set("llama.attention.head_count", Value::make_uint(ValueType::UINT32, 6));
  w.set("llama.attention.head_count_kv", Value::make_uint(ValueType::UINT32, 4));
  w.set("llama.vocab_size", Value::make_uint(ValueType::UINT32, 32));
  EXPECT_NE(load_error(w).find("not a multiple of head_count_kv"), std::string::npos);
  w.set("llama.attention.head_count", Value::make_uint(ValueType::UINT32, 4));
  EXPECT_NE(load_error(w).find("missing tensor token_embd.weight"), std::string::npos);
  std::vector<float> embd(64 * 16);
  w.add_tensor("token_embd.weight", GgmlType::F32, {64, 16}, embd.data(), embd.size() * 4);
  EXPECT_NE(load_error(w).find("token_embd.weight has shape [64, 16], expected [64, 32]"), std::string::npos);
}

}  // namespace
}  // namespace tandem
