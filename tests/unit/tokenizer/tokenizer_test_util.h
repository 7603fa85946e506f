#pragma once
// Shared helpers for the tokenizer tests: vocabularies are loaded once per test binary.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace tandem::test {

inline std::string reference_dir() { return std::string(TANDEM_SHARED_DIR) + "/reference/tokenizer/"; }
inline std::string models_dir() { return std::string(TANDEM_SHARED_DIR) + "/models/"; }

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A tokenizer loaded from a GGUF file, cached for the whole run; nullptr when the file is absent
// (the failure to load an existing file is reported as a test failure).
inline const Tokenizer* load_tokenizer(const std::string& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto it = cache.find(path);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<Tokenizer> tok;
  if (file_exists(path)) {
    auto file = gguf::GgufFile::open(path);
    EXPECT_TRUE(file.ok()) << path << ": " << (file.ok() ? "" : file.error());
    if (file.ok()) {
      auto loaded = Tokenizer::from_gguf(*file);
      EXPECT_TRUE(loaded.ok()) << path << ": " << (loaded.ok() ? "" : loaded.error());
      if (loaded.ok()) tok = std::make_unique<Tokenizer>(std::move(loaded).value());
    }
  }
  return cache.emplace(path, std::move(tok)).first->second.get();
}

inline const Tokenizer* load_vocab(const std::string& name) {
  return load_tokenizer(reference_dir() + "ggml-vocab-" + name + ".gguf");
}

// The strings of an X.gguf.inp file: llama.cpp's test-tokenizer-0 takes every string that is
// followed by the separator line, so the empty remainder after the last separator is no test.
inline std::vector<std::string> read_test_strings(const std::string& path) {
  const std::string text = read_file(path);
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t pos; (pos = text.find(separator, begin)) != std::string::npos; begin = pos + separator.size()) {
    out.push_back(text.substr(begin, pos - begin));
  }
  return out;
}

// The lines of an X.gguf.out file, each a list of token ids.
inline std::vector<std::vector<int32_t>> read_expected_ids(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<int32_t> ids;
    for (int32_t id; fields >> id;) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace tandem::test
