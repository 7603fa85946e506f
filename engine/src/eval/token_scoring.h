#pragma once
// Scoring of next-token predictions, shared by perplexity, compare and imatrix: the text split
// into evaluation chunks exactly as llama.cpp's perplexity tool splits it, and log-softmax.
//
// Chunking (llama-perplexity, without --ppl-stride): the whole text is tokenized once with the
// model's BOS; chunk i is tokens [i * n_ctx, (i + 1) * n_ctx), its first token replaced by BOS
// when the model adds one; only the second half of each chunk is scored (positions n_ctx / 2 to
// n_ctx - 2 predict the next token), so every scored token has at least n_ctx / 2 of context.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace tandem {
class Tokenizer;
}

namespace tandem::eval {

struct EvalChunks {
  std::vector<int32_t> tokens;  // the whole text, as tokenized (BOS first when the model adds it)
  int32_t n_ctx = 0;
  int32_t n_chunks = 0;
  int32_t first = 0;  // first scored position of a chunk: n_ctx / 2
  int32_t bos = -1;   // replaces each chunk's first token; -1 when the model adds no BOS

  // The model's input for chunk i: n_ctx tokens.
  std::vector<int32_t> input(int32_t chunk) const;
  // The token that row `pos` of chunk i's logits predicts.
  int32_t target(int32_t chunk, int32_t pos) const {
    return tokens[static_cast<size_t>(chunk) * static_cast<size_t>(n_ctx) + static_cast<size_t>(pos) + 1];
  }
  int32_t scored_per_chunk() const { return n_ctx - 1 - first; }
};

// Tokenizes text and plans its chunks. max_chunks < 0: all that fit. Fails, as llama.cpp does,
// when the text has fewer than 2 * n_ctx tokens.
Result<EvalChunks> make_chunks(const Tokenizer& tokenizer, const std::string& text, int32_t n_ctx,
                               int32_t max_chunks);

// log p(token) under softmax(logits), as llama.cpp computes it (float max, double sum of exps).
double log_softmax_of(std::span<const float> logits, int32_t token);
// All log-probabilities (double), for KL divergence.
void log_softmax(std::span<const float> logits, std::vector<double>& out);

// Mean and standard error of a running sum of per-token values (llama.cpp's formula:
// sqrt((E[x^2] - E[x]^2) / (n - 1))).
struct MeanAccumulator {
  double sum = 0.0;
  double sum_sq = 0.0;
  int64_t count = 0;
  void add(double v) {
    sum += v;
    sum_sq += v * v;
    ++count;
  }
  double mean() const { return count > 0 ? sum / static_cast<double>(count) : 0.0; }
  double standard_error() const;
};

}  // namespace tandem::eval
