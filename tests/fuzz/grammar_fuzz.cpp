// libFuzzer target for the grammar engine (structured output): the input is a JSON Schema, a NUL
// byte, then a stream of choices. The schema compiles to a grammar or to an error with a message;
// the choices drive a GrammarMatcher over a small vocabulary: each byte picks one of the tokens
// the mask allows (and probes one token raw). It must never crash or hang; the mask must agree
// with accept_token; and a generation that reaches end-of-generation must be valid JSON.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "grammar/grammar_matcher.h"
#include "grammar/json_schema_to_grammar.h"

namespace {

using namespace tandem::grammar;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "grammar_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

std::shared_ptr<const TokenTrie> vocabulary() {
  std::vector<std::string> texts;
  for (int c = 0x20; c < 0x7f; ++c) texts.emplace_back(1, static_cast<char>(c));
  for (const char* piece : {"{\"", "\":", "\": ", "\",", "\", \"", "\"}", "true", "false", "null", "\xc3\xa9",
                            "\xe2\x82\xac", "\xc3", "\xa9", "\xf0\x9f", "\x98\x80", "\\u00", "12", "-0", "e+", "]]",
                            "}}", "\n", "2024-01-01", "T12:00:00Z", "@", ".com"}) {
    texts.emplace_back(piece);
  }
  texts.emplace_back("");  // a control token: never allowed
  texts.emplace_back("");  // end of generation
  const int32_t end = static_cast<int32_t>(texts.size()) - 1;
  return std::make_shared<const TokenTrie>(texts, std::vector<int32_t>{end});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const TokenTrie> trie = vocabulary();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view schema_text = input.substr(0, split);
  const std::string_view choices = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);

  std::shared_ptr<const Grammar> grammar;
  const auto schema = nlohmann::ordered_json::parse(schema_text, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) {
    grammar = json_object_grammar();
  } else {
    auto compiled = json_schema_grammar(schema);
    if (!compiled) {
      if (compiled.error().empty()) fail("an error without a message", std::string(schema_text));
      return 0;
    }
    grammar = std::move(compiled).value();
  }

  const int32_t end = trie->n_vocab() - 1;
  GrammarMatcher matcher(grammar, trie);
  std::vector<uint64_t> mask(mask_words(trie->n_vocab()));
  std::vector<int32_t> allowed;
  std::string text;
  for (size_t step = 0; step < choices.size() && step < 512; ++step) {
    const auto choice = static_cast<uint8_t>(choices[step]);
    const size_t n = matcher.fill_mask(mask);
    allowed.clear();
    for (int32_t id = 0; id < trie->n_vocab(); ++id) {
      if (mask_allows(mask, id)) allowed.push_back(id);
    }
    if (allowed.size() != n) fail("fill_mask miscounted", std::to_string(n));
    if (n == 0) break;  // a dead end: the vocabulary cannot spell what must come next

    // A token the mask refuses must be refused by accept_token too (probed on a copy).
    const int32_t probe = choice % trie->n_vocab();
    if (!mask_allows(mask, probe)) {
      GrammarMatcher copy = matcher;
      if (copy.accept_token(probe)) fail("accept_token took a token the mask refused", text);
    }

    const int32_t token = allowed[choice % allowed.size()];
    if (!matcher.accept_token(token)) fail("accept_token refused a token the mask allowed", text);
    if (token == end) {
      if (!matcher.is_complete()) fail("end of generation before the grammar was complete", text);
      if (!nlohmann::json::accept(text)) fail("a complete generation that is not JSON", text);
      break;
    }
    text += trie->text(token);
  }
  return 0;
}
