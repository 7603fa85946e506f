#include "kv/recurrent_state.h"

#include <gtest/gtest.h>

#include "kv/kv_cache.h"

namespace tandem {
namespace {

// Three layers, the middle one attention (as qwen3next's every-n-th): 2 conv floats, 3 state floats.
RecurrentShape shape() { return {{true, false, true}, 2, 3}; }

void fill(RecurrentState& r, int32_t seq, float base) {
  for (int32_t layer : {0, 2}) {
    for (int i = 0; i < 2; ++i) r.conv(seq, layer)[i] = base + static_cast<float>(10 * layer + i);
    for (int i = 0; i < 3; ++i) r.state(seq, layer)[i] = base + static_cast<float>(10 * layer + 5 + i);
  }
}

TEST(RecurrentState, SlotsAreDistinctAndResetCopyWorkPerSequence) {
  RecurrentState r(shape(), 2);
  EXPECT_TRUE(r.is_recurrent(0));
  EXPECT_FALSE(r.is_recurrent(1));
  EXPECT_EQ(r.bytes(), 2u * 2u * 5u * sizeof(float));
  fill(r, 0, 100.0f);
  fill(r, 1, 200.0f);
  EXPECT_EQ(r.conv(0, 2)[1], 121.0f);
  EXPECT_EQ(r.state(1, 0)[2], 207.0f);
  r.reset(0);
  EXPECT_EQ(r.conv(0, 0)[0], 0.0f);
  EXPECT_EQ(r.state(0, 2)[2], 0.0f);
  EXPECT_EQ(r.state(1, 2)[2], 227.0f);  // the other sequence untouched
  r.copy(1, 0);
  EXPECT_EQ(r.state(0, 2)[2], 227.0f);
  EXPECT_EQ(r.conv(0, 0)[1], 201.0f);
}

TEST(RecurrentState, HybridCacheStoresKeysOnlyForAttentionLayers) {
  KvCache plain(3, 16, 4, 2);
  KvCache hybrid(3, 16, 4, 2, shape());
  ASSERT_NE(hybrid.recurrent(), nullptr);
  EXPECT_EQ(plain.recurrent(), nullptr);
  // One attention layer instead of three, plus the recurrent state.
  EXPECT_EQ(hybrid.bytes(), plain.bytes() / 3 + hybrid.recurrent()->bytes());
  const float key[4] = {1, 2, 3, 4};
  hybrid.write_key(1, 1, 5, key);
  hybrid.write_value(1, 1, 5, key);
  EXPECT_EQ(hybrid.values(1, 1, 5)[0], 0x3c00);  // 1.0 in F16
  EXPECT_DEATH(hybrid.values(0, 0, 0), "");  // a recurrent layer has no values
}

TEST(RecurrentState, HybridCacheRestoresOnlyWholeSequencesOrNothing) {
  KvCache kv(3, 16, 4, 2, shape());
  RecurrentState& r = *kv.recurrent();
  fill(r, 0, 100.0f);
  kv.set_length(0, 6);
  // Attention-only caches restore any prefix; this one all of it or nothing.
  EXPECT_EQ(kv.restorable_prefix(0, 6), 6);
  EXPECT_EQ(kv.restorable_prefix(0, 9), 6);
  EXPECT_EQ(kv.restorable_prefix(0, 5), 0);
  EXPECT_EQ(KvCache(3, 16, 4, 1).restorable_prefix(0, 5), 0);  // empty plain cache: nothing to keep

  kv.copy_prefix(0, 1, 6);
  EXPECT_EQ(kv.length(1), 6);
  EXPECT_EQ(r.state(1, 2)[0], 125.0f);
  kv.truncate(0, 8);  // beyond the length: keeps everything
  EXPECT_EQ(kv.length(0), 6);
  EXPECT_EQ(r.conv(0, 0)[0], 100.0f);
  EXPECT_DEATH(kv.truncate(0, 3), "cannot restore");
  EXPECT_DEATH(kv.copy_prefix(0, 1, 3), "cannot restore");
  kv.truncate(0, 0);  // a new prompt from scratch: zero state
  EXPECT_EQ(kv.length(0), 0);
  EXPECT_EQ(r.conv(0, 0)[0], 0.0f);
  kv.copy_prefix(0, 1, 0);
  EXPECT_EQ(r.state(1, 2)[0], 0.0f);
  fill(r, 1, 300.0f);
  kv.set_length(1, 2);
  kv.clear(1);
  EXPECT_EQ(r.state(1, 0)[1], 0.0f);
  EXPECT_EQ(kv.length(1), 0);
}

TEST(RecurrentState, PlainCacheKeepsItsPrefixRules) {
  KvCache kv(2, 8, 4, 2);
  kv.set_length(0, 5);
  EXPECT_EQ(kv.restorable_prefix(0, 3), 3);
  kv.copy_prefix(0, 1, 3);
  kv.truncate(1, 2);
  EXPECT_EQ(kv.length(1), 2);
}

}  // namespace
}  // namespace tandem
