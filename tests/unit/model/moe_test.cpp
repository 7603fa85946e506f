// The mixture-of-experts layer (model/layers/moe.h) through the qwen3moe architecture: its
// wiring against the dense qwen3 layer, batch independence, and the loader's validation.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "model/activation_observer.h"
#include "model/forward.h"
#include "tiny_models.h"

namespace tandem {
namespace {

using test::TinyShape;

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

TinyShape moe_shape() {
  TinyShape s;
  s.arch = "qwen3moe";
  s.n_expert = 8;
  s.n_expert_used = 2;
  s.n_ff_exp = 64;
  return s;
}

// One expert chosen with weight 1 is the dense feed-forward: a qwen3moe model whose single
// expert holds a qwen3 model's ffn_* gives that model's logits bit for bit, prompt and decode.
TEST(Moe, OneExpertIsTheDenseFeedForward) {
  TinyShape dense;
  TinyShape moe = dense;
  moe.arch = "qwen3moe";
  moe.n_expert = 1;
  moe.n_expert_used = 1;
  moe.n_ff_exp = dense.n_ff;
  moe.experts_from_dense = true;
  auto a = Model::load(test::write_tiny_model(dense, "dense.gguf"));
  auto b = Model::load(test::write_tiny_model(moe, "one-expert.gguf"));
  ASSERT_TRUE(a) << a.error();
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ((*b)->config().arch, Architecture::kQwen3Moe);
  EXPECT_EQ((*b)->config().n_expert, 1);
  const ModelConfig& c = (*a)->config();
  const std::vector<int32_t> prompt = {1, 17, 42, 5, 88, 63, 2, 9};
  for (int threads : {1, 2}) {
    KvCache kv_a(c.n_layer, 32, c.kv_dim(), 1);
    KvCache kv_b(c.n_layer, 32, c.kv_dim(), 1);
    ForwardState sa(c, 16, 32, threads);
    ForwardState sb((*b)->config(), 16, 32, threads);
    forward(**a, kv_a, 0, prompt, sa, true);
    forward(**b, kv_b, 0, prompt, sb, true);
    for (int32_t r = 0; r < static_cast<int32_t>(prompt.size()); ++r) {
      ASSERT_EQ(copy(sa.logits(r)), copy(sb.logits(r))) << "row " << r << ", " << threads << " threads";
    }
    const int32_t next[] = {33};
    forward(**a, kv_a, 0, next, sa, false);
    forward(**b, kv_b, 0, next, sb, false);
    EXPECT_EQ(copy(sa.logits(0)), copy(sb.logits(0)));
  }
}

// A sequence decoded alone and among 16 others gives bit-identical logits: each token's experts,
// weights and sums do not depend on which other tokens share the batch (nor on the threads).
TEST(Moe, SequenceAloneAndAmongSixteenOthersIsBitIdentical) {
  for (bool shared : {false, true}) {
    TinyShape shape = moe_shape();
    if (shared) shape.n_ff_shexp = 96;
    auto model = Model::load(test::write_tiny_model(shape, shared ? "moe-shexp.gguf" : "moe.gguf"));
    ASSERT_TRUE(model) << model.error();
    const ModelConfig& c = (*model)->config();
    EXPECT_EQ(c.n_ff_shexp, shared ? 96 : 0);
    EXPECT_EQ((*model)->weights().layers[0].moe.shexp.w_gate.data != nullptr, shared);
    constexpr int32_t kSeqs = 17;
    constexpr int32_t kSteps = 4;
    auto prompt_of = [](int32_t s) {
      std::vector<int32_t> p;
      for (int32_t i = 0; i < 3 + s % 5; ++i) p.push_back((s * 7 + i * 13 + 1) % 96);
      return p;
    };
    auto token_of = [](int32_t s, int32_t step) { return (s * 11 + step * 5 + 3) % 96; };

    // Sequence 0 alone, one thread.
    KvCache alone_kv(c.n_layer, 32, c.kv_dim(), 1);
    ForwardState alone(c, 32, 32, 1);
    std::vector<std::vector<float>> expected;
    forward(**model, alone_kv, 0, prompt_of(0), alone, false);
    expected.push_back(copy(alone.logits(0)));
    for (int32_t step = 0; step < kSteps; ++step) {
      const int32_t t[] = {token_of(0, step)};
      forward(**model, alone_kv, 0, t, alone, false);
      expected.push_back(copy(alone.logits(0)));
    }

    // All seventeen together (prompts in one batch, then batched decode), two threads.
    KvCache kv(c.n_layer, 32, c.kv_dim(), kSeqs);
    ForwardState together(c, 160, 32, 2);
    std::vector<std::vector<int32_t>> prompts;
    for (int32_t s = 0; s < kSeqs; ++s) prompts.push_back(prompt_of(s));
    std::vector<SequenceTokens> batch;
    for (int32_t s = kSeqs - 1; s >= 0; --s) batch.push_back({s, prompts[static_cast<size_t>(s)]});
    forward_batch(**model, kv, batch, together, false);
    ASSERT_EQ(copy(together.logits(kSeqs - 1)), expected[0]) << "prompt, shared expert " << shared;
    std::vector<int32_t> step_tokens(kSeqs);
    for (int32_t step = 0; step < kSteps; ++step) {
      batch.clear();
      for (int32_t s = 0; s < kSeqs; ++s) {
        step_tokens[static_cast<size_t>(s)] = token_of(s, step);
        batch.push_back({s, std::span(step_tokens).subspan(static_cast<size_t>(s), 1)});
      }
      forward_batch(**model, kv, batch, together, false);
      ASSERT_EQ(copy(together.logits(0)), expected[static_cast<size_t>(step) + 1]) << "step " << step;
    }
  }
}

// A prompt whose experts' outputs do not fit expert_out at once (more than 64 tokens) runs down
// and the weighted sums in passes of columns: the same bits as the prompt in small pieces, whose
// outputs fit (and as the prompt token by token).
TEST(Moe, APromptTooBigForOnePassOfColumnsGivesTheSameBits) {
  for (bool shared : {false, true}) {
    TinyShape shape = moe_shape();
    shape.n_embd = 128;
    if (shared) shape.n_ff_shexp = 96;
    auto model = Model::load(test::write_tiny_model(shape, shared ? "moe-passes-shexp.gguf" : "moe-passes.gguf"));
    ASSERT_TRUE(model) << model.error();
    const ModelConfig& c = (*model)->config();
    std::vector<int32_t> prompt;
    for (int32_t i = 0; i < 150; ++i) prompt.push_back((i * 37 + 5) % 96);
    auto run = [&](int32_t piece, int threads) {
      KvCache kv(c.n_layer, 160, c.kv_dim(), 1);
      ForwardState state(c, 150, 160, threads);
      std::vector<std::vector<float>> rows;
      for (size_t i = 0; i < prompt.size(); i += static_cast<size_t>(piece)) {
        const auto part = std::span(prompt).subspan(i, std::min(prompt.size() - i, static_cast<size_t>(piece)));
        forward(**model, kv, 0, part, state, true);
        for (int32_t r = 0; r < static_cast<int32_t>(part.size()); ++r) rows.push_back(copy(state.logits(r)));
      }
      return rows;
    };
    const auto whole = run(150, 2);
    ASSERT_EQ(whole.size(), prompt.size());
    for (const auto& [piece, threads] : std::vector<std::pair<int32_t, int>>{{10, 1}, {1, 2}, {150, 1}}) {
      const auto parts = run(piece, threads);
      for (size_t i = 0; i < whole.size(); ++i) {
        ASSERT_EQ(parts[i], whole[i]) << "position " << i << ", pieces of " << piece << ", shared " << shared;
      }
    }
  }
}

// With few experts at work, each one's rows are cut into blocks shared by the threads; the cut
// changes no value: one thread (whole matrices) and several (blocks) give the same logits.
TEST(Moe, ExpertRowBlocksAcrossThreadsChangeNothing) {
  TinyShape shape = moe_shape();
  shape.n_embd = 128;
  shape.n_ff_exp = 256;
  shape.n_ff_shexp = 64;
  auto model = Model::load(test::write_tiny_model(shape, "moe-wide.gguf"));
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  const std::vector<int32_t> prompt = {3, 14, 15, 92, 65};
  std::vector<std::vector<float>> reference;
  for (int threads : {1, 3, 4}) {
    KvCache kv(c.n_layer, 32, c.kv_dim(), 1);
    ForwardState state(c, 8, 32, threads);
    forward(**model, kv, 0, prompt, state, true);
    std::vector<std::vector<float>> rows;
    for (int32_t r = 0; r < 5; ++r) rows.push_back(copy(state.logits(r)));
    for (int32_t step = 0; step < 3; ++step) {
      const int32_t t[] = {40 + step};
      forward(**model, kv, 0, t, state, false);
      rows.push_back(copy(state.logits(0)));
    }
    if (reference.empty()) {
      reference = rows;
    } else {
      for (size_t i = 0; i < rows.size(); ++i) ASSERT_EQ(rows[i], reference[i]) << "row " << i << ", " << threads << " threads";
    }
  }
}

// Experts whose up matrices have another activation format than gate's (F16 vs Q8_0's Q8_0 rows)
// get their own converted input: the layer runs and a token's logits still do not depend on its
// batch.
TEST(Moe, UpAndGateOfDifferentTypesRun) {
  TinyShape shape = moe_shape();
  shape.up_exps_type = GgmlType::F16;
  auto model = Model::load(test::write_tiny_model(shape, "moe-mixed.gguf"));
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  const std::vector<int32_t> a = {4, 8, 15, 16, 23};
  const std::vector<int32_t> b = {42, 7, 1};
  KvCache kv(c.n_layer, 16, c.kv_dim(), 2);
  ForwardState state(c, 8, 16, 2);
  const SequenceTokens both[] = {{0, a}, {1, b}};
  forward_batch(**model, kv, both, state, false);
  const std::vector<float> together = copy(state.logits(0));
  for (float v : together) ASSERT_TRUE(std::isfinite(v));
  KvCache kv1(c.n_layer, 16, c.kv_dim(), 1);
  ForwardState one(c, 8, 16, 1);
  forward(**model, kv1, 0, a, one, false);
  EXPECT_EQ(copy(one.logits(0)), together);
}

// An observer sees each chosen expert's routed rows (input and gated activation), every routed
// (token, choice) exactly once per layer, and observing changes no logit.
class ExpertRecorder : public ActivationObserver {
 public:
  void observe(int32_t layer, MatmulSite site, const float*, int64_t n_tokens, int64_t) override {
    if (site == MatmulSite::kFfnInput) ffn_inputs.emplace_back(layer, n_tokens);
  }
  void observe_expert(int32_t layer, MatmulSite site, int32_t expert, int32_t n_expert, const float*, int64_t n_tokens,
                      int64_t n_in) override {
    EXPECT_EQ(n_expert, 8);
    EXPECT_GT(n_tokens, 0);  // only experts some token chose
    EXPECT_EQ(n_in, 64);  // n_embd for the input, n_ff_exp for the gated rows: both 64 here
    if (site == MatmulSite::kFfnInput) routed[{layer, expert}] += n_tokens;
    if (site == MatmulSite::kFfnDown) gated[{layer, expert}] += n_tokens;
  }
  std::vector<std::pair<int32_t, int64_t>> ffn_inputs;
  std::map<std::pair<int32_t, int32_t>, int64_t> routed;
  std::map<std::pair<int32_t, int32_t>, int64_t> gated;
};

TEST(Moe, ObserverSeesEachChosenExpertsRowsOnce) {
  auto model = Model::load(test::write_tiny_model(moe_shape(), "moe-observed.gguf"));
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  const std::vector<int32_t> tokens = {5, 17, 29, 41, 53, 65, 77};
  KvCache plain_kv(c.n_layer, 16, c.kv_dim(), 1);
  ForwardState plain(c, 8, 16, 2);
  forward(**model, plain_kv, 0, tokens, plain, true);

  KvCache kv(c.n_layer, 16, c.kv_dim(), 1);
  ForwardState observed(c, 8, 16, 2);
  ExpertRecorder recorder;
  observed.set_observer(&recorder);
  forward(**model, kv, 0, tokens, observed, true);
  for (int32_t r = 0; r < 7; ++r) EXPECT_EQ(copy(plain.logits(r)), copy(observed.logits(r)));

  EXPECT_EQ(recorder.ffn_inputs, (std::vector<std::pair<int32_t, int64_t>>{{0, 7}, {1, 7}}));
  EXPECT_EQ(recorder.routed, recorder.gated);
  for (int32_t layer = 0; layer < c.n_layer; ++layer) {
    int64_t total = 0;
    for (const auto& [key, n] : recorder.routed) total += key.first == layer ? n : 0;
    EXPECT_EQ(total, 7 * c.n_expert_used) << "layer " << layer;
  }
}

std::string load_error(const gguf::GgufWriter& w) {
  const std::string path = ::testing::TempDir() + "/bad-moe.gguf";
  EXPECT_TRUE(w.write(path));
  auto model = Model::load(path);
  return model ? "" : model.error();
}

TEST(Moe, RefusesBadExpertMetadataAndTensors) {
  using gguf::Value;
  using gguf::ValueType;
  test::TinyModelWriter writer(moe_shape());
  gguf::GgufWriter good = writer.build();
  EXPECT_EQ(load_error(good), "");

  gguf::GgufWriter w = good;
  w.set("qwen3moe.expert_used_count", Value::make_uint(ValueType::UINT32, 9));
  EXPECT_NE(load_error(w).find("qwen3moe.expert_used_count (9) exceeds expert_count (8)"), std::string::npos)
      << load_error(w);
  w = good;
  w.set("qwen3moe.expert_count", Value::make_uint(ValueType::UINT32, 0));
  EXPECT_NE(load_error(w).find("qwen3moe.expert_count = 0 is out of range"), std::string::npos) << load_error(w);
  w = good;
  w.set("qwen3moe.expert_feed_forward_length", Value::make_uint(ValueType::UINT32, 32));
  EXPECT_NE(load_error(w).find("blk.0.ffn_gate_exps.weight has shape [64, 64, 8], expected [64, 32, 8]"),
            std::string::npos)
      << load_error(w);
}

TEST(Moe, RefusesAMissingExpertCount) {
  TinyShape shape = moe_shape();
  shape.n_expert = 0;  // writes no expert keys, and dense ffn tensors
  auto model = Model::load(test::write_tiny_model(shape, "no-experts.gguf"));
  ASSERT_FALSE(model);
  EXPECT_NE(model.error().find("lacks required key qwen3moe.expert_count"), std::string::npos) << model.error();
}

}  // namespace
}  // namespace tandem
