// forward_batch (several sequences in one pass) and the threaded forward pass leave the same
// logits and caches as running each sequence alone on one thread.

#include <gtest/gtest.h>

#include <vector>

#include "model/forward.h"

namespace tandem {
namespace {

const std::string kStories = std::string(TANDEM_SHARED_DIR) + "/models/stories260K.gguf";

void expect_near_rows(std::span<const float> got, std::span<const float> want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4f) << i;
}

TEST(ForwardBatch, SequencesTogetherEqualSequencesAlone) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  const std::vector<std::vector<int32_t>> prompts = {{1, 403, 407, 261}, {1, 378, 432}, {1, 383, 286, 261, 376}};

  // Alone, one thread.
  KvCache alone_kv(c.n_layer, 64, c.kv_dim(), 3);
  ForwardState alone(c, 16, 64, 1);
  std::vector<std::vector<float>> expected;
  for (int32_t s = 0; s < 3; ++s) {
    forward(**model, alone_kv, s, prompts[static_cast<size_t>(s)], alone, false);
    expected.emplace_back(alone.logits(0).begin(), alone.logits(0).end());
  }

  // Together, two threads; then one more decode step for all three at once.
  KvCache kv(c.n_layer, 64, c.kv_dim(), 3);
  ForwardState together(c, 16, 64, 2);
  std::vector<SequenceTokens> batches;
  for (int32_t s = 0; s < 3; ++s) batches.push_back({s, prompts[static_cast<size_t>(s)]});
  forward_batch(**model, kv, batches, together, false);
  for (int32_t s = 0; s < 3; ++s) {
    EXPECT_EQ(kv.length(s), static_cast<int32_t>(prompts[static_cast<size_t>(s)].size()));
    expect_near_rows(together.logits(s), expected[static_cast<size_t>(s)]);
  }

  const std::vector<int32_t> next = {300, 301, 302};
  std::vector<SequenceTokens> step;
  for (int32_t s = 0; s < 3; ++s) step.push_back({s, std::span(next).subspan(static_cast<size_t>(s), 1)});
  forward_batch(**model, kv, step, together, false);
  for (int32_t s = 0; s < 3; ++s) {
    forward(**model, alone_kv, s, std::span(next).subspan(static_cast<size_t>(s), 1), alone, false);
    expect_near_rows(together.logits(s), alone.logits(0));
  }
}

TEST(ForwardBatch, AllLogitsAreInBatchOrder) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model);
  const ModelConfig& c = (*model)->config();
  const std::vector<int32_t> a = {1, 403, 407};
  const std::vector<int32_t> b = {1, 378};
  KvCache kv(c.n_layer, 32, c.kv_dim(), 2);
  ForwardState state(c, 8, 32, 2);
  const SequenceTokens batches[] = {{0, a}, {1, b}};
  forward_batch(**model, kv, batches, state, true);
  std::vector<std::vector<float>> rows;
  for (int32_t r = 0; r < 5; ++r) rows.emplace_back(state.logits(r).begin(), state.logits(r).end());

  KvCache kv1(c.n_layer, 32, c.kv_dim(), 1);
  ForwardState one(c, 8, 32, 1);
  forward(**model, kv1, 0, a, one, true);
  for (int32_t r = 0; r < 3; ++r) expect_near_rows(rows[static_cast<size_t>(r)], one.logits(r));
  kv1.clear(0);
  forward(**model, kv1, 0, b, one, true);
  for (int32_t r = 0; r < 2; ++r) expect_near_rows(rows[static_cast<size_t>(3 + r)], one.logits(r));
}

TEST(ForwardBatchDeathTest, RepeatedSequenceIsChecked) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model);
  const ModelConfig& c = (*model)->config();
  KvCache kv(c.n_layer, 32, c.kv_dim(), 2);
  ForwardState state(c, 8, 32, 1);
  const std::vector<int32_t> a = {1, 403};
  const SequenceTokens batches[] = {{0, a}, {0, a}};
  EXPECT_DEATH(forward_batch(**model, kv, batches, state, false), "check");
}

}  // namespace
}  // namespace tandem
