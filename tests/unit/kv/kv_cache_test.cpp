#include "kv/kv_cache.h"

#include <gtest/gtest.h>

#include "kernels/cpu/attention.h"
#include "quant/fp16.h"

namespace tandem {
namespace {

TEST(KvCache, SequencesAreIndependentAndPrefixesCopy) {
  KvCache kv(2, 8, 4, 3);
  EXPECT_EQ(kv.length(0), 0);
  for (int pos = 0; pos < 5; ++pos) {
    for (int layer = 0; layer < 2; ++layer) {
      float key[4];
      for (int i = 0; i < 4; ++i) {
        key[i] = static_cast<float>(100 * layer + 10 * pos + i);
        kv.values(0, layer, pos)[i] = static_cast<uint16_t>(1000 + 100 * layer + 10 * pos + i);
      }
      kv.write_key(0, layer, pos, key);
    }
  }
  // Keys are blocked: position 2's dimension 3 sits at 3 * kKeyBlock + 2 of the first block.
  EXPECT_EQ(fp16_to_fp32(kv.key_blocks(0, 1)[3 * cpu::kKeyBlock + 2]), 100 + 20 + 3);
  kv.set_length(0, 5);
  kv.copy_prefix(0, 2, 3);
  EXPECT_EQ(kv.length(2), 3);
  EXPECT_EQ(fp16_to_fp32(kv.key(2, 1, 2, 3)), 100 + 20 + 3);
  EXPECT_EQ(kv.values(2, 0, 1)[0], 1000 + 10);
  EXPECT_EQ(kv.length(1), 0);
  const float value[4] = {0.5f, -2.0f, 3.0f, 65504.0f};
  kv.write_value(1, 1, 7, value);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(fp16_to_fp32(kv.values(1, 1, 7)[i]), value[i]);
  kv.truncate(0, 2);
  EXPECT_EQ(kv.length(0), 2);
  kv.truncate(0, 4);  // truncating never grows
  EXPECT_EQ(kv.length(0), 2);
  kv.clear(2);
  EXPECT_EQ(kv.length(2), 0);
  // Keys take whole blocks of 16 positions (8 rounded up), values exactly n_ctx.
  EXPECT_EQ(kv.bytes(), (3u * 2 * 16 * 4 + 3u * 2 * 8 * 4) * 2);
}

TEST(KvCacheDeathTest, OutOfRangeIsAnInvariantViolation) {
  KvCache kv(1, 4, 2, 1);
  EXPECT_DEATH(kv.set_length(0, 5), "check");
  EXPECT_DEATH(kv.key_blocks(1, 0), "check");
  EXPECT_DEATH(kv.key(0, 0, 4, 0), "check");
}

}  // namespace
}  // namespace tandem
