#pragma once
// The vocabulary as a byte trie, built once per model and shared by every GrammarMatcher: the
// matcher walks it against its grammar state, so tokens that share a prefix share the work, and
// a subtree whose prefix the grammar refuses is skipped whole.
//
// Immutable after construction: safe to share between threads.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tandem::grammar {

class TokenTrie {
 public:
  struct Edge {
    uint8_t byte;
    uint32_t child;
  };
  struct Node {
    uint32_t first_edge = 0;  // edges [first_edge, first_edge + n_edges), by byte ascending
    uint32_t n_edges = 0;
    uint32_t first_token = 0;  // tokens whose text ends here: tokens()[first_token, + n_tokens)
    uint32_t n_tokens = 0;
    uint32_t subtree_end = 0;  // the tokens of the whole subtree: tokens()[first_token, subtree_end)
    // When every byte below this node is plain (is_plain): the longest text below it; else -1.
    // The matcher allows such a subtree whole when its state takes any plain run that long.
    int32_t plain_height = -1;
  };

  // Ordinary text bytes: printable ASCII but '"' and '\\' (what a JSON string holds unescaped).
  static bool is_plain(uint8_t b) { return b >= 0x20 && b < 0x7f && b != '"' && b != '\\'; }

  // texts[id]: the bytes token id adds to the output (Tokenizer::token_to_piece). Tokens with
  // empty text (control tokens) are never allowed by a grammar, except the end-of-generation
  // tokens listed in `end_tokens`, which are allowed exactly when the grammar is complete.
  TokenTrie(std::span<const std::string> texts, std::vector<int32_t> end_tokens);

  int32_t n_vocab() const { return n_vocab_; }
  const std::vector<Node>& nodes() const { return nodes_; }  // nodes()[0] is the root
  const std::vector<Edge>& edges() const { return edges_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::vector<int32_t>& end_tokens() const { return end_tokens_; }
  const std::string& text(int32_t id) const { return texts_[static_cast<size_t>(id)]; }
  size_t max_depth() const { return max_depth_; }

 private:
  uint32_t build(std::span<const int32_t> sorted, size_t depth);

  int32_t n_vocab_ = 0;
  std::vector<std::string> texts_;
  std::vector<Node> nodes_;
  std::vector<Edge> edges_;
  std::vector<int32_t> tokens_;
  std::vector<int32_t> end_tokens_;
  size_t max_depth_ = 0;
};

}  // namespace tandem::grammar
