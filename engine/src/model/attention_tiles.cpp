#include "model/attention_tiles.h"

#include <algorithm>

#include "kernels/cpu/attention.h"

namespace tandem {
namespace {

// Queries per tile aimed for: enough to amortise converting each key and value (a GQA group of
// 3 heads over 5 tokens, say), few enough that a prompt still makes many tiles per thread.
constexpr int32_t kTargetTileQueries = 16;
constexpr int32_t kMaxRunTokens = 8;

int32_t run_tokens(int32_t group) { return std::clamp(kTargetTileQueries / group, 1, kMaxRunTokens); }

int32_t heads_fitting(int32_t group, int32_t tokens) { return std::min(group, cpu::kMaxTileQueries / tokens); }

int32_t ceil_div(int32_t a, int32_t b) { return (a + b - 1) / b; }

}  // namespace

int32_t max_tile_queries(int32_t n_head, int32_t n_head_kv) {
  const int32_t group = n_head / n_head_kv;
  const int32_t tokens = run_tokens(group);
  return std::max(tokens * heads_fitting(group, tokens), heads_fitting(group, 1));
}

void plan_attention_tiles(std::span<const int32_t> seq, int32_t n_head, int32_t n_head_kv, int32_t n_threads,
                          bool one_token_runs, AttentionTiling& out) {
  const int32_t group = n_head / n_head_kv;
  const int32_t max_tokens = one_token_runs ? 1 : run_tokens(group);
  out.runs.clear();
  for (int32_t t = 0; t < static_cast<int32_t>(seq.size()); ++t) {
    if (out.runs.empty() || seq[static_cast<size_t>(t)] != seq[static_cast<size_t>(out.runs.back().begin)] ||
        out.runs.back().end - out.runs.back().begin == max_tokens) {
      out.runs.push_back({t, t + 1});
    } else {
      ++out.runs.back().end;
    }
  }
  out.n_head_kv = n_head_kv;
  out.group = group;
  out.heads_per_tile = heads_fitting(group, max_tokens);
  out.head_chunks = ceil_div(group, out.heads_per_tile);
  // A lone sequence's decode makes one tile per key/value head, which can leave threads idle:
  // split the groups until every thread has a couple of tiles.
  while (out.heads_per_tile > 1 && out.n_tiles() < 2 * static_cast<int64_t>(n_threads)) {
    out.heads_per_tile = ceil_div(out.heads_per_tile, 2);
    out.head_chunks = ceil_div(group, out.heads_per_tile);
  }
}

TileSlot AttentionTiling::slot(int64_t i) const {
  const int64_t item = n_tiles() - 1 - i;
  TileSlot slot;
  slot.run = runs[static_cast<size_t>(item / (static_cast<int64_t>(n_head_kv) * head_chunks))];
  slot.kv_head = static_cast<int32_t>(item / head_chunks % n_head_kv);
  slot.head_begin = slot.kv_head * group + static_cast<int32_t>(item % head_chunks) * heads_per_tile;
  slot.head_end = std::min(slot.head_begin + heads_per_tile, (slot.kv_head + 1) * group);
  return slot;
}

}  // namespace tandem
