#include "eval/imatrix_collector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include "eval/token_scoring.h"
#include "kv/kv_cache.h"
#include "model/forward.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tandem::eval {
namespace {

// Sums of squares per (layer, site), in double: a long text adds millions of small terms. An MoE
// layer's experts add one stack per site: n_expert rows of sums, each with its own token count.
class SquareSums : public ActivationObserver {
 public:
  explicit SquareSums(bool include_output) : include_output_(include_output) {}

  void observe(int32_t layer, MatmulSite site, const float* x, int64_t n_tokens, int64_t n_in) override {
    if (site == MatmulSite::kOutput && !include_output_) return;
    add(sums_[{layer, site, false}], 0, 1, x, n_tokens, n_in);
  }

  void observe_expert(int32_t layer, MatmulSite site, int32_t expert, int32_t n_expert, const float* x,
                      int64_t n_tokens, int64_t n_in) override {
    add(sums_[{layer, site, true}], expert, n_expert, x, n_tokens, n_in);
  }

  struct Accumulator {
    std::vector<double> sum;     // [n_mat, n_in]
    std::vector<int64_t> count;  // [n_mat]
  };
  // (layer, site, experts?)
  using Key = std::tuple<int32_t, MatmulSite, bool>;
  const std::map<Key, Accumulator>& sums() const { return sums_; }

 private:
  static void add(Accumulator& a, int32_t mat, int32_t n_mat, const float* x, int64_t n_tokens, int64_t n_in) {
    if (a.sum.empty()) {
      a.sum.assign(static_cast<size_t>(n_mat) * static_cast<size_t>(n_in), 0.0);
      a.count.assign(static_cast<size_t>(n_mat), 0);
    }
    double* sum = a.sum.data() + static_cast<size_t>(mat) * static_cast<size_t>(n_in);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* row = x + t * n_in;
      for (int64_t j = 0; j < n_in; ++j) sum[j] += static_cast<double>(row[j]) * row[j];
    }
    a.count[static_cast<size_t>(mat)] += n_tokens;
  }

  bool include_output_;
  std::map<Key, Accumulator> sums_;
};

// The weight matrices that read the input of a site (those a model lacks are skipped).
std::vector<std::string> tensors_of(int32_t layer, MatmulSite site, bool experts) {
  const std::string p = "blk." + std::to_string(layer) + ".";
  if (experts) {
    if (site == MatmulSite::kFfnInput) return {p + "ffn_gate_exps.weight", p + "ffn_up_exps.weight"};
    if (site == MatmulSite::kFfnDown) return {p + "ffn_down_exps.weight"};
    return {};
  }
  switch (site) {
    // A gated DeltaNet layer (qwen3next) reports the same two sites for its own projections.
    case MatmulSite::kAttnInput:
      return {p + "attn_q.weight",    p + "attn_k.weight", p + "attn_v.weight", p + "attn_qkv.weight",
              p + "attn_gate.weight", p + "ssm_in.weight", p + "ssm_ba.weight"};
    case MatmulSite::kAttnOutput: return {p + "attn_output.weight", p + "ssm_out.weight"};
    case MatmulSite::kFfnInput:
      return {p + "ffn_gate.weight", p + "ffn_up.weight", p + "ffn_gate_inp.weight", p + "ffn_gate_shexp.weight",
              p + "ffn_up_shexp.weight"};
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

  // The engine's own forward pass, one chunk per call, with the sums attached as its observer.
  const ModelConfig& config = model.config();
  KvCache kv(config.n_layer, options.n_ctx, config.kv_dim(), 1, recurrent_shape(config));
  ForwardState pass(config, options.n_ctx, options.n_ctx, options.n_threads);
  SquareSums sums(options.include_output);
  pass.set_observer(&sums);
  MeanAccumulator nll;
  for (int32_t c = 0; c < chunks.n_chunks; ++c) {
    const std::vector<int32_t> input = chunks.input(c);
    kv.clear(0);
    forward(model, kv, 0, input, pass, /*all_logits=*/true);
    for (int32_t pos = chunks.first; pos < chunks.n_ctx - 1; ++pos) {
      nll.add(-log_softmax_of(pass.logits(pos), chunks.target(c, pos)));
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
    const auto& [layer, site, experts] = key;
    const auto n_mat = static_cast<int64_t>(acc.count.size());
    for (const std::string& name : tensors_of(layer, site, experts)) {
      const gguf::TensorInfo* t = model.file().find_tensor(name);
      if (!t || t->shape[0] * n_mat != static_cast<int64_t>(acc.sum.size())) continue;
      if (experts && (t->shape.size() != 3 || t->shape[2] != n_mat)) continue;
      quantize::ImatrixEntry e;
      e.in_sum2.assign(acc.sum.begin(), acc.sum.end());
      for (int64_t c : acc.count) e.counts.push_back(static_cast<float>(c));
      run.imatrix.entries.emplace(name, std::move(e));
    }
  }
  return run;
}

}  // namespace tandem::eval
