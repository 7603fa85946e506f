#pragma once
// Helpers for the grammar tests: a toy vocabulary and a matcher over a schema.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "grammar/grammar_matcher.h"
#include "grammar/json_schema_to_grammar.h"

namespace tandem::grammar::test {

// Every printable ASCII byte as a token, some multi-byte JSON pieces, a few UTF-8 tokens, an
// empty (control) token and an end token (the last id).
inline std::shared_ptr<const TokenTrie> toy_trie() {
  std::vector<std::string> texts;
  for (int c = 0x20; c < 0x7f; ++c) texts.emplace_back(1, static_cast<char>(c));
  for (const char* piece : {"{\"", "\":", "\": ", "\",", "\", \"", "\"}", "true", "false", "null", "name", "age",
                            "\xc3\xa9", "\xe2\x82\xac", "\xc3", "\xa9", "\n", "\t", "12", "2024-", "-01", "}}", "]]"}) {
    texts.emplace_back(piece);
  }
  texts.emplace_back("");  // a control token
  texts.emplace_back("");  // end of generation
  const int32_t end = static_cast<int32_t>(texts.size()) - 1;
  return std::make_shared<const TokenTrie>(texts, std::vector<int32_t>{end});
}

inline std::shared_ptr<const Grammar> schema_grammar(const std::string& schema_json) {
  auto g = json_schema_grammar(nlohmann::ordered_json::parse(schema_json));
  if (!g) throw std::runtime_error(g.error());
  return std::move(g).value();
}

// True when the whole text is a complete sentence of the grammar.
inline bool matches(const std::shared_ptr<const Grammar>& g, const std::string& text) {
  GrammarMatcher m(g, toy_trie());
  return m.accept_bytes(text) && m.is_complete();
}

}  // namespace tandem::grammar::test
