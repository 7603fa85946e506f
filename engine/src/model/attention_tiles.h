#pragma once
// How a forward pass groups its attention queries into tiles (cpu::AttentionTile): the query
// heads that share a key/value head, for a few consecutive tokens of one sequence, so that each
// cached key and value is converted once for all of them.

#include <cstdint>
#include <span>
#include <vector>

namespace tandem {

// Tokens [begin, end) of the batch, all of one sequence.
struct TokenRun {
  int32_t begin = 0;
  int32_t end = 0;
};

// What one tile holds: the run's tokens, times query heads [head_begin, head_end) of kv_head.
struct TileSlot {
  TokenRun run;
  int32_t kv_head = 0;
  int32_t head_begin = 0;
  int32_t head_end = 0;
};

// One tile is (run, key/value head, chunk of that head's query heads).
struct AttentionTiling {
  std::vector<TokenRun> runs;
  int32_t group = 1;           // query heads per key/value head
  int32_t heads_per_tile = 1;  // query heads of one group per tile
  int32_t head_chunks = 1;     // tiles per group and run: ceil(group / heads_per_tile)
  int32_t n_head_kv = 1;

  int64_t n_tiles() const { return static_cast<int64_t>(runs.size()) * n_head_kv * head_chunks; }
  // Tile i, for i < n_tiles(); later runs (longer contexts, more work) have lower numbers, so
  // that threads claiming tiles in order finish together.
  TileSlot slot(int64_t i) const;
};

// The most queries any tile of this model holds: sizes each thread's score rows.
int32_t max_tile_queries(int32_t n_head, int32_t n_head_kv);

// Plans tiles for a batch whose token t belongs to sequence seq[t] (a sequence's tokens are
// consecutive). one_token_runs: every run is a single token (sliding-window layers, where each
// token's window starts elsewhere). Reuses out's storage.
void plan_attention_tiles(std::span<const int32_t> seq, int32_t n_head, int32_t n_head_kv, int32_t n_threads,
                          bool one_token_runs, AttentionTiling& out);

}  // namespace tandem
