#pragma once
// Follows one generation through a Grammar and says, before each sampling step, which tokens keep
// the output a prefix of some sentence of the grammar.
//
// State: the set of live parses, each a pushdown stack of grammar positions (the next byte set to
// match on top). Stacks are hash-consed linked lists in an arena owned by the matcher, so pushing
// or popping is one lookup and equal stacks have equal ids; a set of stacks is interned in turn as
// a state id, and the move from a state on a byte is computed once and kept (a DFA built lazily
// over the pushdown automaton's reachable configurations).
//
// fill_mask() walks the shared TokenTrie depth first, following one kept transition per edge and
// skipping every subtree the grammar refuses, so a step costs about one table lookup per trie node
// the grammar allows. Where every plain byte (TokenTrie::is_plain) leads to one same state, again
// and again for at least as many bytes as a subtree of plain tokens is high (inside a JSON string
// with room left), the whole subtree is allowed without walking it. Whole masks are cached by state as well: inside an unbounded JSON string
// each character leads back to the same state, and most steps cost a copy.
//
// End of generation: the TokenTrie's end tokens are allowed exactly when the text so far is a
// complete sentence. Once complete with nothing that could follow, they are the only tokens
// allowed: the generation is made to stop.
//
// Soundness over completeness: a state with more than kMaxStacks live parses drops the extra ones
// (only very ambiguous grammars get there), which can refuse a valid continuation but never allows
// an invalid one.
//
// Not thread-safe: one matcher per sequence. The Grammar and TokenTrie may be shared.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/token_trie.h"

namespace tandem::grammar {

class GrammarMatcher {
 public:
  static constexpr size_t kMaxStacks = 1024;

  GrammarMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie);

  // mask: ceil(n_vocab / 64) words; bit id % 64 of word id / 64 is set when token id is allowed.
  // Returns how many tokens are allowed; 0 only when the grammar is dead (a previous accept was
  // refused, or the vocabulary cannot spell any continuation).
  size_t fill_mask(std::span<uint64_t> mask);

  // Advances past one token; false (and no change) when the grammar refuses it. An end token is
  // accepted only when is_complete().
  bool accept_token(int32_t id);
  // Advances past raw bytes (tests, fuzzing, a forced prefix); false and no change when refused.
  bool accept_bytes(std::string_view text);

  bool is_complete() const;   // the text so far is a whole sentence
  bool can_continue() const;  // some byte may still follow
  bool is_dead() const { return state_ == kDead; }

 private:
  struct Node {
    uint32_t pos;     // index into Grammar::elements(): a kBytes element, or kRule while expanding
    uint32_t parent;  // the stack below; kBottom for none
  };
  static constexpr uint32_t kBottom = 0;  // node 0: the empty stack, i.e. a finished parse
  static constexpr uint32_t kDead = 0;    // state 0: no live parse

  uint32_t intern(uint32_t pos, uint32_t parent);
  // The stack `after` an element at `pos` with `parent` below it: pos + 1, or the parent when
  // pos was the last element of its alternative.
  uint32_t next(uint32_t pos, uint32_t parent);
  // Adds to out every stack reachable from `stack` without consuming a byte whose top is a byte
  // set (or the empty stack).
  void expand(uint32_t stack, std::vector<uint32_t>& out);
  void add(uint32_t stack, std::vector<uint32_t>& out) const;
  void advance(const std::vector<uint32_t>& in, uint8_t byte, std::vector<uint32_t>& out);
  uint32_t intern_state(std::vector<uint32_t> stacks);  // sorts; returns the state's id
  uint32_t transition(uint32_t state, uint8_t byte);     // kDead when the byte is refused
  // How many plain bytes, whatever they are, the state surely takes (capped at kMaxPlainRun).
  int32_t plain_run(uint32_t state);
  void walk(uint32_t trie_node, uint32_t state, std::span<uint64_t> mask);
  void compact_if_large();
  void compact();

  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> table_;  // open addressing over nodes_ ids; 0 = empty slot
  std::vector<uint32_t> expanded_;  // [node]: offset in pool_ of its expansion, or kNotExpanded
  std::vector<uint32_t> pool_;      // expansions: a count, then that many stack ids
  struct StateHash {
    size_t operator()(const std::vector<uint32_t>& s) const;
  };
  std::vector<std::vector<uint32_t>> states_;  // [state]: its stacks, sorted; states_[kDead] is empty
  std::unordered_map<std::vector<uint32_t>, uint32_t, StateHash> state_ids_;
  std::vector<uint32_t> transitions_;  // [state * 256 + byte]: the next state, or kUnknown
  std::vector<int16_t> plain_runs_;    // [state]: plain_run, or -1 not yet known
  uint32_t state_ = kDead;             // the text so far
  std::vector<uint32_t> scratch_;
  std::unordered_map<uint32_t, std::vector<uint64_t>> mask_cache_;  // by state
};

// The mask helpers the sampler uses.
inline bool mask_allows(std::span<const uint64_t> mask, int32_t id) {
  return (mask[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1;
}
inline size_t mask_words(int32_t n_vocab) { return (static_cast<size_t>(n_vocab) + 63) / 64; }

}  // namespace tandem::grammar
