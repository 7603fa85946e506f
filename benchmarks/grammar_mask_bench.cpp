// Cost of one grammar mask (GrammarMatcher::fill_mask) on a real vocabulary: builds the token trie,
// then steps a JSON text through two schemas (array of bounded strings, and unbounded ones), timing
// each mask. Not part of the CMake build; from the repository root, after building build/release:
//   g++ -std=c++20 -O2 -Iengine/src -Iengine/include benchmarks/grammar_mask_bench.cpp \
//     build/release/engine/libtandem_sampling.a build/release/engine/libtandem_formats.a -lpthread \
//     -o /tmp/grammar_mask_bench && /tmp/grammar_mask_bench models/SmolLM2-135M-Instruct.Q4_1.gguf
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"
#include "grammar/grammar_matcher.h"
#include "grammar/json_schema_to_grammar.h"
using namespace tandem;
using namespace tandem::grammar;
int main(int argc, char** argv) {
  auto file = gguf::GgufFile::open(argv[1]);
  auto tok = Tokenizer::from_gguf(*file);
  const int32_t n = tok->n_vocab();
  std::vector<std::string> texts(n); std::vector<int32_t> ends;
  auto t0 = std::chrono::steady_clock::now();
  for (int32_t id = 0; id < n; ++id) { texts[id] = tok->token_to_piece(id); if (tok->is_end_of_generation(id)) ends.push_back(id); }
  auto trie = std::make_shared<const TokenTrie>(texts, ends);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("trie: %zu nodes, depth %zu, %.1f ms\n", trie->nodes().size(), trie->max_depth(), std::chrono::duration<double, std::milli>(t1 - t0).count());
  const char* schemas[] = {
    R"({"type":"object","properties":{"facts":{"type":"array","items":{"type":"string","maxLength":120},"minItems":4,"maxItems":4}}})",
    R"({"type":"object","properties":{"facts":{"type":"array","items":{"type":"string"},"minItems":4,"maxItems":4}}})",
  };
  const std::string text = R"({"facts": ["Mercury is the smallest planet in our solar system and closest to the sun", "Venus has a thick atmosphere)";
  for (const char* s : schemas) {
    auto g = json_schema_grammar(nlohmann::ordered_json::parse(s)).value();
    GrammarMatcher m(g, trie);
    std::vector<uint64_t> mask(mask_words(n));
    // tokenize text and step through it
    auto ids = tok->encode(text, false, false);
    double total = 0; size_t steps = 0;
    for (int32_t id : ids) {
      auto a = std::chrono::steady_clock::now();
      size_t allowed = m.fill_mask(mask);
      auto b = std::chrono::steady_clock::now();
      total += std::chrono::duration<double, std::milli>(b - a).count(); ++steps;
      if (!mask_allows(mask, id)) { std::printf("token %d '%s' not allowed (%zu allowed)\n", id, texts[id].c_str(), allowed); break; }
      m.accept_token(id);
    }
    std::printf("%s\n  %zu steps, %.3f ms per mask\n", s, steps, total / steps);
  }
}
