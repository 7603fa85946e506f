#include "grammar/token_trie.h"

#include <algorithm>

namespace tandem::grammar {

TokenTrie::TokenTrie(std::span<const std::string> texts, std::vector<int32_t> end_tokens)
    : n_vocab_(static_cast<int32_t>(texts.size())), texts_(texts.begin(), texts.end()),
      end_tokens_(std::move(end_tokens)) {
  std::vector<int32_t> ids;
  ids.reserve(texts.size());
  for (int32_t id = 0; id < n_vocab_; ++id) {
    const bool is_end = std::find(end_tokens_.begin(), end_tokens_.end(), id) != end_tokens_.end();
    if (!texts_[static_cast<size_t>(id)].empty() && !is_end) ids.push_back(id);
  }
  // Sorted by text, each subtree is a contiguous range; equal texts keep id order.
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return texts_[a] < texts_[b]; });
  nodes_.reserve(ids.size() * 2 + 1);
  tokens_.reserve(ids.size());
  build(ids, 0);
  // Children come after their parent in depth-first order: one backward pass fills the subtree facts.
  for (size_t i = nodes_.size(); i-- > 0;) {
    Node& node = nodes_[i];
    node.subtree_end = node.first_token + node.n_tokens;
    node.plain_height = 0;
    for (uint32_t e = 0; e < node.n_edges; ++e) {
      const Edge edge = edges_[node.first_edge + e];
      const Node& child = nodes_[edge.child];
      node.subtree_end = std::max(node.subtree_end, child.subtree_end);
      if (node.plain_height >= 0 && is_plain(edge.byte) && child.plain_height >= 0) {
        node.plain_height = std::max(node.plain_height, child.plain_height + 1);
      } else {
        node.plain_height = -1;
      }
    }
  }
}

// The node for the tokens in `sorted`, which all share their first `depth` bytes. Nodes are laid
// out in depth-first order. Recursion depth is the longest token's length.
uint32_t TokenTrie::build(std::span<const int32_t> sorted, size_t depth) {
  const uint32_t index = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();
  max_depth_ = std::max(max_depth_, depth);
  size_t i = 0;
  nodes_[index].first_token = static_cast<uint32_t>(tokens_.size());
  while (i < sorted.size() && texts_[sorted[i]].size() == depth) tokens_.push_back(sorted[i++]);
  nodes_[index].n_tokens = static_cast<uint32_t>(tokens_.size()) - nodes_[index].first_token;

  // Children first collected, then appended as one block so that a node's edges are contiguous.
  std::vector<std::pair<uint8_t, std::span<const int32_t>>> groups;
  while (i < sorted.size()) {
    const auto byte = static_cast<uint8_t>(texts_[sorted[i]][depth]);
    size_t j = i;
    while (j < sorted.size() && static_cast<uint8_t>(texts_[sorted[j]][depth]) == byte) ++j;
    groups.emplace_back(byte, sorted.subspan(i, j - i));
    i = j;
  }
  const uint32_t first_edge = static_cast<uint32_t>(edges_.size());
  edges_.resize(edges_.size() + groups.size());
  nodes_[index].first_edge = first_edge;
  nodes_[index].n_edges = static_cast<uint32_t>(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    const uint32_t child = build(groups[g].second, depth + 1);
    edges_[first_edge + g] = Edge{groups[g].first, child};
  }
  return index;
}

}  // namespace tandem::grammar
