#include "model/attention_tiles.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "kernels/cpu/attention.h"

namespace tandem {
namespace {

// Every (token, query head) pair lands in exactly one tile, with the key/value head it reads.
void expect_covers_every_query_once(const AttentionTiling& tiling, const std::vector<int32_t>& seq, int32_t n_head) {
  std::set<std::pair<int32_t, int32_t>> seen;
  for (int64_t i = 0; i < tiling.n_tiles(); ++i) {
    const TileSlot slot = tiling.slot(i);
    ASSERT_LT(slot.run.begin, slot.run.end);
    ASSERT_LE((slot.run.end - slot.run.begin) * (slot.head_end - slot.head_begin), cpu::kMaxTileQueries);
    for (int32_t t = slot.run.begin; t < slot.run.end; ++t) {
      EXPECT_EQ(seq[static_cast<size_t>(t)], seq[static_cast<size_t>(slot.run.begin)]) << "a run mixes sequences";
      for (int32_t h = slot.head_begin; h < slot.head_end; ++h) {
        EXPECT_EQ(h / tiling.group, slot.kv_head);
        EXPECT_TRUE(seen.insert({t, h}).second) << "token " << t << " head " << h << " twice";
      }
    }
  }
  EXPECT_EQ(seen.size(), seq.size() * static_cast<size_t>(n_head));
}

TEST(AttentionTiles, PromptRunsShareGroupsAndStayWithinOneSequence) {
  // Two sequences (7 and 3 tokens), SmolLM2's 9 heads over 3 key/value heads.
  const std::vector<int32_t> seq = {4, 4, 4, 4, 4, 4, 4, 1, 1, 1};
  AttentionTiling tiling;
  plan_attention_tiles(seq, 9, 3, 2, false, tiling);
  EXPECT_EQ(tiling.heads_per_tile, 3);  // the whole group in one tile
  expect_covers_every_query_once(tiling, seq, 9);
  // Five tokens of a group of three fill a tile of about sixteen queries.
  EXPECT_EQ(tiling.runs.front().end - tiling.runs.front().begin, 5);
  // The first tile handed out is from the last run: the longest contexts start first.
  EXPECT_EQ(tiling.slot(0).run.begin, tiling.runs.back().begin);
}

TEST(AttentionTiles, LoneDecodeSplitsGroupsSoEveryThreadWorks) {
  // One token, one key/value head of four query heads (Gemma 3 270M), two threads: one tile
  // would leave a thread idle.
  const std::vector<int32_t> seq = {0};
  AttentionTiling tiling;
  plan_attention_tiles(seq, 4, 1, 2, false, tiling);
  EXPECT_GE(tiling.n_tiles(), 4);
  expect_covers_every_query_once(tiling, seq, 4);
}

TEST(AttentionTiles, SlidingLayersUseOneTokenRuns) {
  const std::vector<int32_t> seq = {0, 0, 0, 0};
  AttentionTiling tiling;
  plan_attention_tiles(seq, 8, 2, 2, true, tiling);
  EXPECT_EQ(tiling.runs.size(), 4u);
  expect_covers_every_query_once(tiling, seq, 8);
}

TEST(AttentionTiles, LargeGroupsAreSplitToFitATile) {
  const std::vector<int32_t> seq = {0, 0};
  AttentionTiling tiling;
  plan_attention_tiles(seq, 64, 1, 1, false, tiling);
  EXPECT_LE(tiling.heads_per_tile, cpu::kMaxTileQueries);
  EXPECT_LE(max_tile_queries(64, 1), cpu::kMaxTileQueries);
  expect_covers_every_query_once(tiling, seq, 64);
}

}  // namespace
}  // namespace tandem
