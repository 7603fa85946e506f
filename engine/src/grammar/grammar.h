#pragma once
// Grammars for constrained sampling: what text a generation may produce, over bytes.
//
// Two forms. An expression tree (Expr: byte sets, sequences, choices, bounded repetition and
// references to named rules, which allow recursion) is what compilers build, with the small
// functions below. GrammarBuilder lowers the tree into a Grammar: flat rules whose alternatives
// are sequences of byte sets and rule references, the form GrammarMatcher walks (one pushdown
// stack per live parse, as llama.cpp's GBNF matcher does).
//
// Grammars work on bytes, not characters: a token may end inside a UTF-8 character, and the
// matcher follows it byte by byte. Compilers spell multi-byte characters as byte sequences.
//
// GrammarBuilder::build refuses a grammar the matcher could loop on: a rule that reaches itself
// without consuming a byte (left recursion, or a repetition of something that can match "").
// Every grammar it returns is safe to match on any input.
//
// Example (a yes/no answer after a fixed prefix):
//   GrammarBuilder b;
//   auto g = std::move(b).build(sequence({literal("Answer: "), choice({literal("yes"), literal("no")})}));

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tandem::grammar {

// A set of byte values: one "character class" of a grammar.
struct ByteSet {
  std::array<uint64_t, 4> bits{};

  bool test(uint8_t b) const { return (bits[b >> 6] >> (b & 63)) & 1; }
  ByteSet& add(uint8_t b) {
    bits[b >> 6] |= uint64_t{1} << (b & 63);
    return *this;
  }
  ByteSet& add_range(uint8_t lo, uint8_t hi) {  // inclusive
    for (int b = lo; b <= hi; ++b) add(static_cast<uint8_t>(b));
    return *this;
  }
  bool empty() const { return (bits[0] | bits[1] | bits[2] | bits[3]) == 0; }
  bool operator==(const ByteSet&) const = default;
};

inline constexpr uint32_t kUnbounded = UINT32_MAX;

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

// Immutable once built; subtrees may be shared between several parents.
struct Expr {
  enum class Kind { kBytes, kSequence, kChoice, kRepeat, kRule };
  Kind kind = Kind::kSequence;
  ByteSet bytes;               // kBytes: one byte from this set
  std::vector<ExprPtr> items;  // kSequence: all in order ({} matches ""); kChoice: one of them; kRepeat: items[0]
  uint32_t min = 0;            // kRepeat: items[0] between min and max times (max may be kUnbounded)
  uint32_t max = 0;
  uint32_t rule = 0;           // kRule: GrammarBuilder::add_rule's id
};

ExprPtr bytes(const ByteSet& set);
ExprPtr literal(std::string_view text);  // exactly these bytes
ExprPtr sequence(std::vector<ExprPtr> items);
ExprPtr choice(std::vector<ExprPtr> items);  // at least one item
ExprPtr repeat(ExprPtr item, uint32_t min, uint32_t max);
inline ExprPtr optional(ExprPtr item) { return repeat(std::move(item), 0, 1); }
inline ExprPtr empty() { return sequence({}); }

// Flat form. Rule r's alternatives start at elements[alternatives[r][i]] and run to a kEnd.
class Grammar {
 public:
  enum class Op : uint8_t { kBytes, kRule, kEnd };
  struct Element {
    Op op = Op::kEnd;
    uint32_t arg = 0;  // kBytes: index into byte_sets; kRule: rule id
  };

  uint32_t root() const { return root_; }
  const std::vector<Element>& elements() const { return elements_; }
  const std::vector<ByteSet>& byte_sets() const { return byte_sets_; }
  const std::vector<uint32_t>& alternatives(uint32_t rule) const { return alternatives_[rule]; }
  size_t n_rules() const { return alternatives_.size(); }

 private:
  friend class GrammarBuilder;
  uint32_t root_ = 0;
  std::vector<Element> elements_;
  std::vector<ByteSet> byte_sets_;
  std::vector<std::vector<uint32_t>> alternatives_;
};

// Limits that keep one request's grammar small (the matcher's memory grows with it).
inline constexpr size_t kMaxGrammarElements = 1 << 20;

class GrammarBuilder {
 public:
  // A named rule, defined later with define(); ref() may be used before that (recursion).
  uint32_t add_rule(std::string name);
  void define(uint32_t rule, ExprPtr body);
  ExprPtr ref(uint32_t rule) const;
  const std::string& rule_name(uint32_t rule) const { return names_[rule]; }

  // The grammar whose sentences are those of `root`. Fails (naming the rule) when a rule was
  // never defined, when a rule can reach itself without consuming a byte, or when the grammar
  // is larger than kMaxGrammarElements.
  Result<std::shared_ptr<const Grammar>> build(ExprPtr root) &&;

 private:
  uint32_t lower_rule(const std::vector<ExprPtr>& alternatives);
  void lower_into(const ExprPtr& e, std::vector<Grammar::Element>& out);
  Grammar::Element lower_to_element(const ExprPtr& e);
  uint32_t byte_set_index(const ByteSet& set);
  Status check_no_left_recursion() const;

  std::vector<std::string> names_;
  std::vector<ExprPtr> bodies_;
  Grammar grammar_;
  std::vector<std::vector<std::vector<Grammar::Element>>> lowered_;  // [rule][alternative]
  bool too_large_ = false;
};

}  // namespace tandem::grammar
