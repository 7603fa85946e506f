#pragma once
// Shared by the eval tests: the test corpus as text and a small single-threaded engine.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "../quantize/test_models.h"
#include "tandem/engine.h"

namespace tandem::test {

inline std::string corpus() {
  std::ifstream in(corpus_path(), std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// n_ctx tokens of context, prompts fed in one batch, one thread (repeatable numbers).
inline std::unique_ptr<Engine> load_engine(const std::string& path, int32_t n_ctx) {
  EngineOptions o;
  o.model_path = path;
  o.n_ctx = n_ctx;
  o.n_batch = n_ctx;
  o.n_threads = 1;
  auto e = Engine::load(o);
  EXPECT_TRUE(e) << e.error();
  return e ? std::move(e).value() : nullptr;
}

}  // namespace tandem::test
