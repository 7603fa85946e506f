// The qwen3next architecture on a tiny random-weight model written here with the tensor names
// and metadata of llama.cpp's converter: it loads and validates, a prompt read in chunks gives
// what reading it a token at a time gives, sequences in one batch give what they give alone,
// and the hybrid state resets and copies with its sequence. (Agreement with llama.cpp itself
// is tests/golden's reference test on llama.cpp's own test model.)

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "model/forward.h"
#include "tiny_qwen3next.h"

namespace tandem {
namespace {

std::string write_model(const std::string& file, const std::string& skip = "", int64_t inner_size = 0) {
  return test::write_qwen3next(file, skip, inner_size);
}

std::unique_ptr<Model> load_tiny() {
  auto model = Model::load(write_model("qwen3next_tiny.gguf"));
  EXPECT_TRUE(model) << model.error();
  return model ? std::move(model).value() : nullptr;
}

const std::vector<int32_t> kPrompt = {3, 17, 42, 5, 77, 8, 19, 60, 61, 2, 33, 44, 12, 9, 70, 71, 1, 0, 79, 40};

std::vector<float> row(const ForwardState& s, int32_t r) { return {s.logits(r).begin(), s.logits(r).end()}; }

size_t argmax(const std::vector<float>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST(Qwen3Next, LoadsWithItsLayerKindsAndHybridCache) {
  auto model = load_tiny();
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.arch, Architecture::kQwen3Next);
  EXPECT_EQ(c.layer_kind(0), LayerKind::kRecurrent);
  EXPECT_EQ(c.layer_kind(1), LayerKind::kAttention);
  EXPECT_EQ(c.layer_kind(2), LayerKind::kRecurrent);
  EXPECT_EQ(c.rope.n_rot, 8);
  EXPECT_EQ(c.ssm_dt_rank, 4);
  KvCache kv(c.n_layer, 64, c.kv_dim(), 2, recurrent_shape(c));
  ASSERT_TRUE(kv.has_recurrent());
  // Keys and values for the two attention layers only; per recurrent layer and sequence the
  // conv inputs (3 x conv_dim 128) and four 16 x 16 states.
  EXPECT_EQ(kv.recurrent()->bytes(), 2u * 2u * (3u * 128u + 4u * 16u * 16u) * sizeof(float));
  EXPECT_EQ(kv.bytes() - kv.recurrent()->bytes(), KvCache(2, 64, c.kv_dim(), 2).bytes());
}

TEST(Qwen3Next, ChunkedPromptMatchesTokenByToken) {
  auto model = load_tiny();
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  KvCache kv(c.n_layer, 64, c.kv_dim(), 2, recurrent_shape(c));
  ForwardState state(c, 32, 64, 2);
  forward(*model, kv, 0, kPrompt, state, /*all_logits=*/true);
  std::vector<std::vector<float>> whole;
  for (size_t t = 0; t < kPrompt.size(); ++t) whole.push_back(row(state, static_cast<int32_t>(t)));
  for (size_t t = 0; t < kPrompt.size(); ++t) {
    forward(*model, kv, 1, std::span(kPrompt).subspan(t, 1), state, false);
    const std::vector<float> one = row(state, 0);
    EXPECT_EQ(argmax(one), argmax(whole[t])) << t;
    for (size_t i = 0; i < one.size(); ++i) ASSERT_NEAR(one[i], whole[t][i], 2e-3f) << "token " << t << " logit " << i;
  }
}

TEST(Qwen3Next, APromptCutAtChunkBoundariesGivesTheSameBits) {
  // Recurrent chunks start at multiples of kDeltaNetChunkTokens: a prompt read whole, or in
  // pieces that end at such multiples (as the batcher cuts them), computes every chunk the same way.
  auto model = load_tiny();
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  std::vector<int32_t> prompt;
  for (int32_t i = 0; i < 150; ++i) prompt.push_back((i * 37 + 11) % 80);
  KvCache kv(c.n_layer, 256, c.kv_dim(), 3, recurrent_shape(c));
  ForwardState state(c, 160, 256, 2);
  forward(*model, kv, 0, prompt, state, false);
  const std::vector<float> whole = row(state, 0);
  const std::span<const int32_t> p(prompt);
  for (int32_t seq : {1, 2}) {
    const std::vector<size_t> cuts = seq == 1 ? std::vector<size_t>{64, 150} : std::vector<size_t>{64, 128, 150};
    size_t done = 0;
    for (size_t cut : cuts) {
      forward(*model, kv, seq, p.subspan(done, cut - done), state, false);
      done = cut;
    }
    EXPECT_EQ(row(state, 0), whole) << "cuts of sequence " << seq;
  }
}

TEST(Qwen3Next, SequencesInABatchGiveWhatTheyGiveAlone) {
  auto model = load_tiny();
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3, 4, 5}, {9, 8, 7}, {40, 41, 42, 43, 44, 45, 46}};
  KvCache alone_kv(c.n_layer, 64, c.kv_dim(), 3, recurrent_shape(c));
  ForwardState alone(c, 32, 64, 1);
  KvCache kv(c.n_layer, 64, c.kv_dim(), 3, recurrent_shape(c));
  ForwardState together(c, 32, 64, 2);
  std::vector<SequenceTokens> batches;
  for (int32_t s = 0; s < 3; ++s) batches.push_back({s, prompts[static_cast<size_t>(s)]});
  forward_batch(*model, kv, batches, together, false);
  for (int32_t s = 0; s < 3; ++s) {
    forward(*model, alone_kv, s, prompts[static_cast<size_t>(s)], alone, false);
    EXPECT_EQ(row(together, s), row(alone, 0)) << "prompt of " << s;
  }
  // Three decode steps of all three together, against each alone: bit-identical.
  for (int32_t step = 0; step < 3; ++step) {
    const std::vector<int32_t> next = {10 + step, 20 + step, 30 + step};
    std::vector<SequenceTokens> decode;
    for (int32_t s = 0; s < 3; ++s) decode.push_back({s, std::span(next).subspan(static_cast<size_t>(s), 1)});
    forward_batch(*model, kv, decode, together, false);
    for (int32_t s = 0; s < 3; ++s) {
      forward(*model, alone_kv, s, std::span(next).subspan(static_cast<size_t>(s), 1), alone, false);
      EXPECT_EQ(row(together, s), row(alone, 0)) << "step " << step << " of " << s;
    }
  }
}

TEST(Qwen3Next, HybridStateResetsAndCopiesWithItsSequence) {
  auto model = load_tiny();
  ASSERT_NE(model, nullptr);
  const ModelConfig& c = model->config();
  KvCache kv(c.n_layer, 64, c.kv_dim(), 2, recurrent_shape(c));
  ForwardState state(c, 32, 64, 1);
  forward(*model, kv, 0, kPrompt, state, false);
  const std::vector<float> first = row(state, 0);

  // A copy of the whole sequence continues exactly as the original does.
  kv.copy_prefix(0, 1, kv.length(0));
  const std::vector<int32_t> next = {7};
  forward(*model, kv, 0, next, state, false);
  const std::vector<float> original = row(state, 0);
  forward(*model, kv, 1, next, state, false);
  EXPECT_EQ(row(state, 0), original);

  // Cleared, the sequence starts from scratch: the same prompt gives the same logits.
  kv.clear(0);
  forward(*model, kv, 0, kPrompt, state, false);
  EXPECT_EQ(row(state, 0), first);
  // Cutting it back part-way is not possible: only all or nothing.
  EXPECT_EQ(kv.restorable_prefix(0, 5), 0);
  EXPECT_EQ(kv.restorable_prefix(0, static_cast<int32_t>(kPrompt.size())), static_cast<int32_t>(kPrompt.size()));
}

TEST(Qwen3Next, BadFilesAreRefusedByName) {
  auto missing = Model::load(write_model("qwen3next_no_a.gguf", "blk.2.ssm_a"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("blk.2.ssm_a"), std::string::npos) << missing.error();
  auto odd = Model::load(write_model("qwen3next_odd_inner.gguf", "", 63));
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().find("ssm.inner_size"), std::string::npos) << odd.error();
}

}  // namespace
}  // namespace tandem
