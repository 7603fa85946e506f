#include "grammar/grammar_matcher.h"

#include <algorithm>
#include <bit>

namespace tandem::grammar {
namespace {

constexpr uint32_t kNotExpanded = UINT32_MAX;
// Beyond this many arena nodes or states the matcher starts afresh from its current state (the
// caches go with the old ids): bounds a long generation's memory to about 10 MiB. A state's
// transitions take 1 KiB.
constexpr size_t kMaxNodes = size_t{1} << 18;
constexpr size_t kMaxStates = 8192;
constexpr size_t kMaxCachedMasks = 64;
constexpr int32_t kMaxPlainRun = 255;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

size_t GrammarMatcher::StateHash::operator()(const std::vector<uint32_t>& s) const {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (uint32_t id : s) h = mix(h ^ id);
  return static_cast<size_t>(h);
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie)
    : grammar_(std::move(grammar)), trie_(std::move(trie)) {
  TANDEM_CHECK(grammar_ && trie_);
  nodes_.push_back(Node{UINT32_MAX, kBottom});
  expanded_.push_back(kNotExpanded);
  table_.assign(1024, 0);
  intern_state({});  // kDead
  std::vector<uint32_t> initial;
  const auto& elements = grammar_->elements();
  for (uint32_t start : grammar_->alternatives(grammar_->root())) {
    if (elements[start].op == Grammar::Op::kEnd) {
      add(kBottom, initial);
    } else {
      expand(intern(start, kBottom), initial);
    }
  }
  state_ = intern_state(std::move(initial));
}

uint32_t GrammarMatcher::intern(uint32_t pos, uint32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(pos) << 32) | parent;
  size_t mask = table_.size() - 1;
  size_t slot = mix(key) & mask;
  while (uint32_t id = table_[slot]) {
    if (nodes_[id].pos == pos && nodes_[id].parent == parent) return id;
    slot = (slot + 1) & mask;
  }
  const auto id = static_cast<uint32_t>(nodes_.size());
  nodes_.push_back(Node{pos, parent});
  expanded_.push_back(kNotExpanded);
  table_[slot] = id;
  if (nodes_.size() * 2 > table_.size()) {  // keep the load under one half
    std::vector<uint32_t> bigger(table_.size() * 2, 0);
    mask = bigger.size() - 1;
    for (uint32_t n = 1; n < nodes_.size(); ++n) {
      size_t s = mix((static_cast<uint64_t>(nodes_[n].pos) << 32) | nodes_[n].parent) & mask;
      while (bigger[s]) s = (s + 1) & mask;
      bigger[s] = n;
    }
    table_.swap(bigger);
  }
  return id;
}

uint32_t GrammarMatcher::next(uint32_t pos, uint32_t parent) {
  if (grammar_->elements()[pos + 1].op == Grammar::Op::kEnd) return parent;
  return intern(pos + 1, parent);
}

void GrammarMatcher::add(uint32_t stack, std::vector<uint32_t>& out) const {
  if (out.size() >= kMaxStacks) return;
  if (std::find(out.begin(), out.end(), stack) == out.end()) out.push_back(stack);
}

// The leaves reachable from a stack depend on the stack alone: computed once per node and kept
// in pool_ (the grammar has no left recursion, so the recursion ends; its depth is bounded by
// the number of rules that can start one another).
void GrammarMatcher::expand(uint32_t stack, std::vector<uint32_t>& out) {
  if (expanded_[stack] == kNotExpanded) {
    std::vector<uint32_t> leaves;
    const Node node = nodes_[stack];
    const auto& elements = grammar_->elements();
    if (stack == kBottom || elements[node.pos].op == Grammar::Op::kBytes) {
      leaves.push_back(stack);
    } else {
      const uint32_t rule = elements[node.pos].arg;
      const uint32_t cont = next(node.pos, node.parent);
      for (uint32_t start : grammar_->alternatives(rule)) {
        if (elements[start].op == Grammar::Op::kEnd) {
          expand(cont, leaves);
        } else {
          expand(intern(start, cont), leaves);
        }
      }
    }
    expanded_[stack] = static_cast<uint32_t>(pool_.size());
    pool_.push_back(static_cast<uint32_t>(leaves.size()));
    pool_.insert(pool_.end(), leaves.begin(), leaves.end());
  }
  const uint32_t at = expanded_[stack];
  const uint32_t n = pool_[at];
  for (uint32_t i = 0; i < n; ++i) add(pool_[at + 1 + i], out);
}

void GrammarMatcher::advance(const std::vector<uint32_t>& in, uint8_t byte, std::vector<uint32_t>& out) {
  out.clear();
  const auto& elements = grammar_->elements();
  const auto& sets = grammar_->byte_sets();
  for (uint32_t stack : in) {
    if (stack == kBottom) continue;
    const Node node = nodes_[stack];
    if (!sets[elements[node.pos].arg].test(byte)) continue;
    expand(next(node.pos, node.parent), out);
  }
}

uint32_t GrammarMatcher::intern_state(std::vector<uint32_t> stacks) {
  std::sort(stacks.begin(), stacks.end());
  if (auto it = state_ids_.find(stacks); it != state_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(states_.size());
  state_ids_.emplace(stacks, id);
  states_.push_back(std::move(stacks));
  transitions_.resize(transitions_.size() + 256, kNotExpanded);
  plain_runs_.push_back(-1);
  return id;
}

uint32_t GrammarMatcher::transition(uint32_t state, uint8_t byte) {
  const size_t at = static_cast<size_t>(state) * 256 + byte;
  if (transitions_[at] == kNotExpanded) {
    if (state == kDead) {
      transitions_[at] = kDead;
    } else {
      std::vector<uint32_t> in = states_[state];  // a copy: intern_state may grow states_
      advance(in, byte, scratch_);
      const uint32_t next = scratch_.empty() ? kDead : intern_state(scratch_);
      transitions_[at] = next;
    }
  }
  return transitions_[at];
}

int32_t GrammarMatcher::plain_run(uint32_t start) {
  // The chain of "every plain byte leads to one same next state", followed until it breaks or
  // reaches a state already known; then filled in backwards.
  std::vector<uint32_t> chain;
  uint32_t s = start;
  int32_t tail = 0;  // the run of the state after the chain's last one
  while (true) {
    if (s == kDead) {
      tail = -1;
      break;
    }
    if (plain_runs_[s] >= 0) {
      tail = plain_runs_[s];
      break;
    }
    if (chain.size() >= static_cast<size_t>(kMaxPlainRun)) break;
    chain.push_back(s);
    uint32_t next = kNotExpanded;
    for (int b = 0x20; b < 0x7f; ++b) {
      if (!TokenTrie::is_plain(static_cast<uint8_t>(b))) continue;
      const uint32_t t = transition(s, static_cast<uint8_t>(b));
      if (next == kNotExpanded) next = t;
      if (t != next || t == kDead) {
        next = kDead;
        break;
      }
    }
    s = next;
  }
  int32_t run = tail;
  for (size_t i = chain.size(); i-- > 0;) {
    run = std::min(run + 1, kMaxPlainRun);
    plain_runs_[chain[i]] = static_cast<int16_t>(run);
  }
  return plain_runs_[start] >= 0 ? plain_runs_[start] : 0;
}

void GrammarMatcher::walk(uint32_t trie_node, uint32_t state, std::span<uint64_t> mask) {
  const TokenTrie::Node& node = trie_->nodes()[trie_node];
  if (trie_node != 0 && node.plain_height >= 0 && node.plain_height <= plain_run(state)) {
    for (uint32_t i = node.first_token; i < node.subtree_end; ++i) {
      const int32_t id = trie_->tokens()[i];
      mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
    }
    return;
  }
  if (trie_node != 0) {
    for (uint32_t i = 0; i < node.n_tokens; ++i) {
      const int32_t id = trie_->tokens()[node.first_token + i];
      mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
    }
  }
  for (uint32_t e = 0; e < node.n_edges; ++e) {
    const TokenTrie::Edge edge = trie_->edges()[node.first_edge + e];
    const uint32_t next = transition(state, edge.byte);
    if (next != kDead) walk(edge.child, next, mask);
  }
}

size_t GrammarMatcher::fill_mask(std::span<uint64_t> mask) {
  TANDEM_CHECK(mask.size() == mask_words(trie_->n_vocab()));
  if (auto it = mask_cache_.find(state_); it != mask_cache_.end()) {
    std::copy(it->second.begin(), it->second.end(), mask.begin());
  } else {
    std::fill(mask.begin(), mask.end(), 0);
    if (state_ != kDead) walk(0, state_, mask);
    if (is_complete()) {
      for (int32_t id : trie_->end_tokens()) {
        if (id >= 0 && id < trie_->n_vocab()) mask[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63);
      }
    }
    if (mask_cache_.size() >= kMaxCachedMasks) mask_cache_.clear();
    mask_cache_.emplace(state_, std::vector<uint64_t>(mask.begin(), mask.end()));
  }
  size_t n = 0;
  for (uint64_t word : mask) n += static_cast<size_t>(std::popcount(word));
  compact_if_large();
  return n;
}

bool GrammarMatcher::accept_token(int32_t id) {
  if (id < 0 || id >= trie_->n_vocab()) return false;
  const auto& ends = trie_->end_tokens();
  if (std::find(ends.begin(), ends.end(), id) != ends.end()) return is_complete();
  const std::string& text = trie_->text(id);
  return !text.empty() && accept_bytes(text);
}

bool GrammarMatcher::accept_bytes(std::string_view text) {
  uint32_t current = state_;
  for (char c : text) {
    current = transition(current, static_cast<uint8_t>(c));
    if (current == kDead) return false;
  }
  state_ = current;
  compact_if_large();
  return true;
}

bool GrammarMatcher::is_complete() const {
  const auto& stacks = states_[state_];
  return !stacks.empty() && stacks.front() == kBottom;
}

bool GrammarMatcher::can_continue() const {
  const auto& stacks = states_[state_];
  return std::any_of(stacks.begin(), stacks.end(), [](uint32_t s) { return s != kBottom; });
}

void GrammarMatcher::compact_if_large() {
  if (nodes_.size() > kMaxNodes || states_.size() > kMaxStates) compact();
}

// A fresh arena with the current stacks alone; every cache refers to the old ids and goes.
void GrammarMatcher::compact() {
  std::vector<std::vector<uint32_t>> chains;  // each stack's positions, bottom first
  for (uint32_t s : states_[state_]) {
    std::vector<uint32_t> chain;
    for (uint32_t n = s; n != kBottom; n = nodes_[n].parent) chain.push_back(nodes_[n].pos);
    std::reverse(chain.begin(), chain.end());
    chains.push_back(std::move(chain));
  }
  nodes_.assign(1, Node{UINT32_MAX, kBottom});
  expanded_.assign(1, kNotExpanded);
  pool_.clear();
  table_.assign(1024, 0);
  states_.clear();
  state_ids_.clear();
  transitions_.clear();
  plain_runs_.clear();
  mask_cache_.clear();
  intern_state({});
  std::vector<uint32_t> stacks;
  for (const auto& chain : chains) {
    uint32_t s = kBottom;
    for (uint32_t pos : chain) s = intern(pos, s);
    stacks.push_back(s);
  }
  state_ = stacks.empty() ? kDead : intern_state(std::move(stacks));
}

}  // namespace tandem::grammar
