#include "eval/imatrix_collector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "eval/observed_forward.h"
#include "eval/token_scoring.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tandem::eval {
namespace {

// Sums of squares per (layer, site), in double: a long text adds millions of small terms.
class SquareSums : public ActivationObserver {
 public:
  explicit SquareSums(bool include_output) : include_output_(include_output) {}

  void observe(int32_t layer, MatmulSite site, const float* x, int64_t n_tokens, int64_t n_in) override {
    if (site == MatmulSite::kOutput && !include_output_) return;
    Accumulator& a = sums_[{layer, site}];
    if (a.sum.empty()) a.sum.assign(static_cast<size_t>(n_in), 0.0);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* row = x + t * n_in;
      for (int64_t j = 0; j < n_in; ++j) a.sum[static_cast<size_t>(j)] += static_cast<double>(row[j]) * row[j];
    }
    a.count += n_tokens;
  }

  struct Accumulator {
    std::vector<double> sum;
    int64_t count = 0;
  };
  const std::map<std::pair<int32_t, MatmulSite>, Accumulator>& sums() const { return sums_; }

 private:
  bool include_output_;
  std::map<std::pair<int32_t, MatmulSite>, Accumulator> sums_;
};

// The weight matrices that read the input of a site.
std::vector<std::string> tensors_of(int32_t layer, MatmulSite site) {
  const std::string p = "blk." + std::to_string(layer) + ".";
  switch (site) {
    case MatmulSite::kAttnInput: return {p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight", p + "attn_qkv.weight"};
    case MatmulSite::kAttnOutput: return {p + "attn_output.weight"};
    case MatmulSite::kFfnInput: return {p + "ffn_gate.weight", p + "ffn_up.weight"};
    case MatmulSite::kFfnDown: return {p + "ffn_down.weight"};
    case MatmulSite::kOutput: return {"output.weight"};
  }
  return {};
}

}  // namespace

Result<ImatrixRun> collect_imatrix(const Model& model, const Tokenizer& tokenizer, const std::string& text,
                                   const ImatrixOptions& options,
                                   const std::function<void(int32_t, int32_t, double)>& on_chunk) {
  if (options.n_ctx < 4) return make_error("--ctx must be at least 4 tokens");
  if (options.n_ctx > model.config().n_ctx_train) {
    return make_error("--ctx " + std::to_string(options.n_ctx) + " exceeds the model's training context of " +
                      std::to_string(model.config().n_ctx_train) + " tokens");
  }
  EvalChunks chunks;
  chunks.tokens = tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/false);
  chunks.n_ctx = options.n_ctx;
  chunks.first = options.n_ctx / 2;
  chunks.bos = tokenizer.add_bos() ? tokenizer.bos_id() : -1;
  chunks.n_chunks = static_cast<int32_t>(chunks.tokens.size() / static_cast<size_t>(options.n_ctx));
  if (options.max_chunks >= 0) chunks.n_chunks = std::min(chunks.n_chunks, options.max_chunks);
  if (chunks.n_chunks <= 0) {
    return make_error("the text has " + std::to_string(chunks.tokens.size()) + " tokens, less than one chunk of " +
                      std::to_string(options.n_ctx) + ": give more text or a smaller --ctx");
  }

  ObservedForward pass(model, options.n_ctx, options.n_threads);
  SquareSums sums(options.include_output);
  MeanAccumulator nll;
  std::vector<float> logits;
  const int32_t n_vocab = model.config().n_vocab;
  for (int32_t c = 0; c < chunks.n_chunks; ++c) {
    const std::vector<int32_t> input = chunks.input(c);
    pass.run(input, &sums, &logits);
    for (int32_t pos = chunks.first; pos < chunks.n_ctx - 1; ++pos) {
      std::span<const float> row(logits.data() + static_cast<size_t>(pos) * n_vocab, static_cast<size_t>(n_vocab));
      nll.add(-log_softmax_of(row, chunks.target(c, pos)));
    }
    if (on_chunk) on_chunk(c + 1, chunks.n_chunks, std::exp(nll.mean()));
  }

  ImatrixRun run;
  run.n_chunks = chunks.n_chunks;
  run.n_tokens = static_cast<int64_t>(chunks.n_chunks) * options.n_ctx;
  run.ppl = std::exp(nll.mean());
  run.imatrix.chunk_count = static_cast<uint32_t>(chunks.n_chunks);
  run.imatrix.chunk_size = static_cast<uint32_t>(options.n_ctx);
  if (!options.dataset.empty()) run.imatrix.datasets.push_back(options.dataset);
  for (const auto& [key, acc] : sums.sums()) {
    for (const std::string& name : tensors_of(key.first, key.second)) {
      const gguf::TensorInfo* t = model.file().find_tensor(name);
      if (!t || t->shape[0] != static_cast<int64_t>(acc.sum.size())) continue;
      quantize::ImatrixEntry e;
      e.in_sum2.assign(acc.sum.begin(), acc.sum.end());
      e.counts.push_back(static_cast<float>(acc.count));
      run.imatrix.entries.emplace(name, std::move(e));
    }
  }
  return run;
}

}  // namespace tandem::eval
