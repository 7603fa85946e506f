#include "eval/perplexity.h"

#include <cmath>

#include "tandem/engine.h"

namespace tandem::eval {

Result<PerplexityResult> perplexity(Engine& engine, const EvalChunks& chunks, const ChunkFn& on_chunk) {
  if (engine.n_ctx() < chunks.n_ctx) {
    return make_error("the model's context is " + std::to_string(engine.n_ctx()) + " tokens, smaller than --ctx " +
                      std::to_string(chunks.n_ctx));
  }
  PerplexityResult r;
  r.n_chunks = chunks.n_chunks;
  r.n_ctx = chunks.n_ctx;
  r.n_tokens = static_cast<int64_t>(chunks.tokens.size());
  MeanAccumulator nll;
  for (int32_t c = 0; c < chunks.n_chunks; ++c) {
    auto logits = engine.evaluate(chunks.input(c));
    if (!logits) return Error{logits.error()};
    for (int32_t pos = chunks.first; pos < chunks.n_ctx - 1; ++pos) {
      nll.add(-log_softmax_of((*logits)[static_cast<size_t>(pos)], chunks.target(c, pos)));
    }
    r.running_ppl.push_back(std::exp(nll.mean()));
    if (on_chunk) on_chunk(c + 1, chunks.n_chunks, r.running_ppl.back());
  }
  r.mean_nll = nll.mean();
  r.ppl = std::exp(r.mean_nll);
  r.ppl_stderr = nll.standard_error() * r.ppl;
  r.n_scored = nll.count;
  return r;
}

}  // namespace tandem::eval
