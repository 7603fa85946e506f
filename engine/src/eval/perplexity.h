#pragma once
// Perplexity of a model on a text, chunked and scored as llama.cpp's perplexity tool does (see
// token_scoring.h), so the two tools' numbers on the same file and text can be compared directly.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"
#include "eval/token_scoring.h"

namespace tandem {
class Engine;
}

namespace tandem::eval {

struct PerplexityResult {
  double ppl = 0.0;
  double ppl_stderr = 0.0;  // standard error of the estimate, in perplexity units
  double mean_nll = 0.0;    // mean negative log-likelihood per scored token (nats)
  int64_t n_scored = 0;
  int32_t n_chunks = 0;
  int32_t n_ctx = 0;
  int64_t n_tokens = 0;            // tokens of the whole text
  std::vector<double> running_ppl;  // after each chunk, as llama.cpp prints [1]x,[2]y,...
};

// Called after each chunk with (chunks done, chunks in all, perplexity so far).
using ChunkFn = std::function<void(int32_t done, int32_t total, double ppl)>;

// `engine` must have been loaded with n_ctx >= chunks.n_ctx.
Result<PerplexityResult> perplexity(Engine& engine, const EvalChunks& chunks, const ChunkFn& on_chunk = {});

}  // namespace tandem::eval
