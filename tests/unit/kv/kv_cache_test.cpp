#include "kv/kv_cache.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(KvCache, SequencesAreIndependentAndPrefixesCopy) {
  KvCache kv(2, 8, 4, 3);
  EXPECT_EQ(kv.length(0), 0);
  for (int pos = 0; pos < 5; ++pos) {
    for (int layer = 0; layer < 2; ++layer) {
      for (int i = 0; i < 4; ++i) {
        kv.keys(0, layer, pos)[i] = static_cast<uint16_t>(100 * layer + 10 * pos + i);
        kv.values(0, layer, pos)[i] = static_cast<uint16_t>(1000 + 100 * layer + 10 * pos + i);
      }
    }
  }
  kv.set_length(0, 5);
  kv.copy_prefix(0, 2, 3);
  EXPECT_EQ(kv.length(2), 3);
  EXPECT_EQ(kv.keys(2, 1, 2)[3], 100 + 20 + 3);
  EXPECT_EQ(kv.values(2, 0, 1)[0], 1000 + 10);
  EXPECT_EQ(kv.length(1), 0);
  kv.truncate(0, 2);
  EXPECT_EQ(kv.length(0), 2);
  kv.truncate(0, 4);  // truncating never grows
  EXPECT_EQ(kv.length(0), 2);
  kv.clear(2);
  EXPECT_EQ(kv.length(2), 0);
  EXPECT_EQ(kv.bytes(), 2u * 3 * 2 * 8 * 4 * 2);
}

TEST(KvCacheDeathTest, OutOfRangeIsAnInvariantViolation) {
  KvCache kv(1, 4, 2, 1);
  EXPECT_DEATH(kv.set_length(0, 5), "check");
  EXPECT_DEATH(kv.keys(1, 0), "check");
}

}  // namespace
}  // namespace tandem
