#include "eval/token_scoring.h"

#include <algorithm>
#include <cmath>

#include "tokenizer/tokenizer.h"

namespace tandem::eval {

std::vector<int32_t> EvalChunks::input(int32_t chunk) const {
  const auto begin = tokens.begin() + static_cast<std::ptrdiff_t>(chunk) * n_ctx;
  std::vector<int32_t> out(begin, begin + n_ctx);
  if (bos >= 0) out[0] = bos;
  return out;
}

Result<EvalChunks> make_chunks(const Tokenizer& tokenizer, const std::string& text, int32_t n_ctx,
                               int32_t max_chunks) {
  if (n_ctx < 4) return make_error("--ctx must be at least 4 tokens (got " + std::to_string(n_ctx) + ")");
  EvalChunks c;
  // Special-token text in the corpus stays text, as in llama-perplexity.
  c.tokens = tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/false);
  c.n_ctx = n_ctx;
  c.first = n_ctx / 2;
  c.bos = tokenizer.add_bos() ? tokenizer.bos_id() : -1;
  if (static_cast<int64_t>(c.tokens.size()) < 2 * static_cast<int64_t>(n_ctx)) {
    return make_error("the text has " + std::to_string(c.tokens.size()) + " tokens; a context of " +
                      std::to_string(n_ctx) + " needs at least " + std::to_string(2 * n_ctx) +
                      " (two chunks, as llama.cpp's perplexity requires): give more text or a smaller --ctx");
  }
  c.n_chunks = static_cast<int32_t>(c.tokens.size() / static_cast<size_t>(n_ctx));
  if (max_chunks >= 0) c.n_chunks = std::min(c.n_chunks, max_chunks);
  if (c.n_chunks <= 0) return make_error("--chunks must be positive");
  return c;
}

double log_softmax_of(std::span<const float> logits, int32_t token) {
  float max = logits[0];
  for (float v : logits) max = std::max(max, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max));
  return static_cast<double>(logits[static_cast<size_t>(token)] - max) - std::log(sum);
}

void log_softmax(std::span<const float> logits, std::vector<double>& out) {
  float max = logits[0];
  for (float v : logits) max = std::max(max, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - max));
  const double log_sum = std::log(sum);
  out.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i] - max) - log_sum;
}

double MeanAccumulator::standard_error() const {
  if (count < 2) return 0.0;
  const double m = mean();
  const double var = sum_sq / static_cast<double>(count) - m * m;
  return var > 0.0 ? std::sqrt(var / static_cast<double>(count - 1)) : 0.0;
}

}  // namespace tandem::eval
