#pragma once
// A/B comparison of a candidate model (say, a quantized file) against a base (its original) on
// the same text: how far the candidate's next-token distributions are from the base's. Positions
// and chunks are perplexity's (token_scoring.h), as in llama-perplexity --kl-divergence.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "eval/perplexity.h"
#include "eval/token_scoring.h"

namespace tandem {
class Engine;
}

namespace tandem::eval {

inline constexpr double kNearTieGap = 0.1;  // nats

struct CompareResult {
  double kl_mean = 0.0;    // mean KL(base || candidate) per scored token, nats
  double kl_stderr = 0.0;
  double kl_p99 = 0.0;     // 99th percentile of the per-token KL
  double kl_max = 0.0;
  double top1_agreement = 0.0;  // fraction of positions where both models' argmax is the same
  double top1_stderr = 0.0;
  // The same over positions where the base is decisive: its top two logits differ by at least
  // kNearTieGap. Elsewhere the base is nearly indifferent, and any rounding anywhere (even
  // llama.cpp's own kernels against each other) can swap its first two choices.
  double top1_agreement_decisive = 0.0;
  int64_t n_decisive = 0;
  double ppl_base = 0.0;
  double ppl_candidate = 0.0;
  double ppl_ratio = 0.0;         // candidate / base, from the paired per-token difference
  double ppl_ratio_stderr = 0.0;
  uint64_t size_base = 0;         // file sizes, bytes
  uint64_t size_candidate = 0;
  double size_ratio = 0.0;        // candidate / base
  int64_t n_scored = 0;
  int32_t n_chunks = 0;
  int32_t n_ctx = 0;
};

// Both engines must share the vocabulary (checked) and have n_ctx >= chunks.n_ctx. The chunks
// come from the base's tokenizer.
Result<CompareResult> compare_models(Engine& base, Engine& candidate, const EvalChunks& chunks,
                                     const ChunkFn& on_chunk = {});

// One chat prompt answered by both models (greedy), for the side-by-side report.
struct SideBySide {
  std::string prompt;
  std::string base_answer;
  std::string candidate_answer;
  int32_t first_divergence = -1;  // index of the first differing generated token, -1 if identical
};

// Greedy answers of both models to each prompt, rendered with each model's chat template (or
// the bare prompt when a model has none).
Result<std::vector<SideBySide>> answer_side_by_side(Engine& base, Engine& candidate,
                                                    const std::vector<std::string>& prompts, int32_t max_tokens);

struct ReportHeader {
  std::string base_path;
  std::string candidate_path;
  std::string text_path;
};

// The report as Markdown and as a self-contained HTML page (inline CSS, no scripts, no links out).
std::string render_markdown_report(const ReportHeader& header, const CompareResult& metrics,
                                   const std::vector<SideBySide>& answers);
std::string render_html_report(const ReportHeader& header, const CompareResult& metrics,
                               const std::vector<SideBySide>& answers);

}  // namespace tandem::eval
