#include "grammar/grammar.h"

#include <utility>

namespace tandem::grammar {

ExprPtr bytes(const ByteSet& set) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kBytes;
  e->bytes = set;
  return e;
}

ExprPtr literal(std::string_view text) {
  std::vector<ExprPtr> items;
  items.reserve(text.size());
  for (char c : text) items.push_back(bytes(ByteSet{}.add(static_cast<uint8_t>(c))));
  return sequence(std::move(items));
}

ExprPtr sequence(std::vector<ExprPtr> items) {
  if (items.size() == 1) return items[0];
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kSequence;
  e->items = std::move(items);
  return e;
}

ExprPtr choice(std::vector<ExprPtr> items) {
  TANDEM_CHECK_MSG(!items.empty(), "a choice needs at least one alternative");
  if (items.size() == 1) return items[0];
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kChoice;
  e->items = std::move(items);
  return e;
}

ExprPtr repeat(ExprPtr item, uint32_t min, uint32_t max) {
  TANDEM_CHECK(min <= max);
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kRepeat;
  e->items = {std::move(item)};
  e->min = min;
  e->max = max;
  return e;
}

uint32_t GrammarBuilder::add_rule(std::string name) {
  names_.push_back(std::move(name));
  bodies_.push_back(nullptr);
  return static_cast<uint32_t>(names_.size() - 1);
}

void GrammarBuilder::define(uint32_t rule, ExprPtr body) {
  TANDEM_CHECK(rule < bodies_.size());
  bodies_[rule] = std::move(body);
}

ExprPtr GrammarBuilder::ref(uint32_t rule) const {
  TANDEM_CHECK(rule < names_.size());
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::kRule;
  e->rule = rule;
  return e;
}

uint32_t GrammarBuilder::byte_set_index(const ByteSet& set) {
  auto& sets = grammar_.byte_sets_;
  // Most grammars use a few dozen distinct sets; the literal bytes repeat a lot.
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets[i] == set) return static_cast<uint32_t>(i);
  }
  sets.push_back(set);
  return static_cast<uint32_t>(sets.size() - 1);
}

// A new anonymous rule whose alternatives are the given expressions.
uint32_t GrammarBuilder::lower_rule(const std::vector<ExprPtr>& alternatives) {
  const uint32_t id = static_cast<uint32_t>(lowered_.size());
  lowered_.emplace_back();
  std::vector<std::vector<Grammar::Element>> alts;
  for (const ExprPtr& alt : alternatives) {
    std::vector<Grammar::Element> seq;
    lower_into(alt, seq);
    alts.push_back(std::move(seq));
  }
  lowered_[id] = std::move(alts);
  return id;
}

Grammar::Element GrammarBuilder::lower_to_element(const ExprPtr& e) {
  if (e->kind == Expr::Kind::kBytes) return {Grammar::Op::kBytes, byte_set_index(e->bytes)};
  if (e->kind == Expr::Kind::kRule) return {Grammar::Op::kRule, e->rule};
  if (e->kind == Expr::Kind::kChoice) return {Grammar::Op::kRule, lower_rule(e->items)};
  return {Grammar::Op::kRule, lower_rule({e})};
}

void GrammarBuilder::lower_into(const ExprPtr& e, std::vector<Grammar::Element>& out) {
  if (too_large_) return;
  switch (e->kind) {
    case Expr::Kind::kBytes:
    case Expr::Kind::kRule:
    case Expr::Kind::kChoice: out.push_back(lower_to_element(e)); break;
    case Expr::Kind::kSequence:
      for (const ExprPtr& item : e->items) lower_into(item, out);
      break;
    case Expr::Kind::kRepeat: {
      const uint64_t copies = e->max == kUnbounded ? e->min + 1ull : e->max;
      if (copies > kMaxGrammarElements || lowered_.size() + copies > kMaxGrammarElements) {
        too_large_ = true;
        return;
      }
      const Grammar::Element item = lower_to_element(e->items[0]);
      for (uint32_t i = 0; i < e->min; ++i) out.push_back(item);
      if (e->max == kUnbounded) {
        // star ::= item star | ""   (right recursion: the matcher's stack does not grow with it)
        const uint32_t star = static_cast<uint32_t>(lowered_.size());
        lowered_.push_back({{item, {Grammar::Op::kRule, star}}, {}});
        out.push_back({Grammar::Op::kRule, star});
      } else if (e->max > e->min) {
        // opt_1 ::= item | "";  opt_k ::= item opt_(k-1) | ""
        uint32_t previous = static_cast<uint32_t>(lowered_.size());
        lowered_.push_back({{item}, {}});
        for (uint32_t k = 2; k <= e->max - e->min; ++k) {
          const uint32_t next = static_cast<uint32_t>(lowered_.size());
          lowered_.push_back({{item, {Grammar::Op::kRule, previous}}, {}});
          previous = next;
        }
        out.push_back({Grammar::Op::kRule, previous});
      }
      break;
    }
  }
}

// Every rule must consume a byte before it can reach itself again; otherwise expanding it
// would never end. Nullable rules are found by fixpoint, then a depth-first search looks for a
// cycle among the references that can come first in an alternative.
Status GrammarBuilder::check_no_left_recursion() const {
  const size_t n = lowered_.size();
  std::vector<bool> nullable(n, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const auto& alt : lowered_[r]) {
        bool all = true;
        for (const auto& el : alt) {
          if (el.op != Grammar::Op::kRule || !nullable[el.arg]) {
            all = false;
            break;
          }
        }
        if (all) {
          nullable[r] = true;
          changed = true;
          break;
        }
      }
    }
  }
  std::vector<std::vector<uint32_t>> first(n);
  for (size_t r = 0; r < n; ++r) {
    for (const auto& alt : lowered_[r]) {
      for (const auto& el : alt) {
        if (el.op != Grammar::Op::kRule) break;
        first[r].push_back(el.arg);
        if (!nullable[el.arg]) break;
      }
    }
  }
  enum : uint8_t { kWhite, kGrey, kBlack };
  std::vector<uint8_t> colour(n, kWhite);
  for (size_t start = 0; start < n; ++start) {
    if (colour[start] != kWhite) continue;
    std::vector<std::pair<uint32_t, size_t>> stack{{static_cast<uint32_t>(start), 0}};
    colour[start] = kGrey;
    while (!stack.empty()) {
      auto& [rule, next] = stack.back();
      if (next == first[rule].size()) {
        colour[rule] = kBlack;
        stack.pop_back();
        continue;
      }
      const uint32_t to = first[rule][next++];
      if (colour[to] == kGrey) {
        const std::string name = to < names_.size() ? names_[to] : "an anonymous rule";
        return make_error("the grammar can loop without consuming text at " + name +
                          " (left recursion, or a repetition of something that can be empty)");
      }
      if (colour[to] == kWhite) {
        colour[to] = kGrey;
        stack.emplace_back(to, 0);
      }
    }
  }
  return ok_status();
}

Result<std::shared_ptr<const Grammar>> GrammarBuilder::build(ExprPtr root) && {
  // Named rules keep their ids; anonymous ones are numbered after them.
  lowered_.assign(names_.size(), {});
  for (size_t r = 0; r < names_.size(); ++r) {
    if (!bodies_[r]) return make_error("the grammar rule " + names_[r] + " is used but never defined");
    std::vector<ExprPtr> alts = bodies_[r]->kind == Expr::Kind::kChoice ? bodies_[r]->items
                                                                         : std::vector<ExprPtr>{bodies_[r]};
    std::vector<std::vector<Grammar::Element>> lowered;
    for (const ExprPtr& alt : alts) {
      std::vector<Grammar::Element> seq;
      lower_into(alt, seq);
      lowered.push_back(std::move(seq));
    }
    lowered_[r] = std::move(lowered);
  }
  const uint32_t root_rule = root->kind == Expr::Kind::kChoice ? lower_rule(root->items) : lower_rule({root});
  size_t n_elements = 0;
  for (const auto& alts : lowered_) {
    for (const auto& alt : alts) n_elements += alt.size() + 1;
  }
  if (too_large_ || n_elements > kMaxGrammarElements) {
    return make_error("the grammar is too large (more than " + std::to_string(kMaxGrammarElements) +
                      " elements); use smaller bounds (maxLength, maxItems) or a simpler schema");
  }
  if (auto ok = check_no_left_recursion(); !ok) return Error{ok.error()};

  Grammar& g = grammar_;
  g.root_ = root_rule;
  g.elements_.reserve(n_elements);
  g.alternatives_.resize(lowered_.size());
  for (size_t r = 0; r < lowered_.size(); ++r) {
    for (const auto& alt : lowered_[r]) {
      g.alternatives_[r].push_back(static_cast<uint32_t>(g.elements_.size()));
      g.elements_.insert(g.elements_.end(), alt.begin(), alt.end());
      g.elements_.push_back({Grammar::Op::kEnd, 0});
    }
  }
  return std::make_shared<const Grammar>(std::move(grammar_));
}

}  // namespace tandem::grammar
