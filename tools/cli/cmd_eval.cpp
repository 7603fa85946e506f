// `tandem eval perplexity|compare|imatrix`: model quality measurements.
//   perplexity -m MODEL -f TEXT [--ctx 512]               chunked as llama.cpp's perplexity tool
//   compare --base A --candidate B -f TEXT [--prompts F]  KL divergence, top-1 agreement, ratios
//   imatrix -m MODEL -f TEXT -o FILE                      activation statistics for quantize
//   logits -m MODEL --ids 1,2,3 [--top K] [--json]        top logits per position (cmd_eval_logits.cpp)
// Results go to stdout; progress to stderr.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cmd_eval_logits.h"
#include "command_registry.h"
#include "eval/compare.h"
#include "eval/imatrix_collector.h"
#include "eval/perplexity.h"
#include "tandem/engine.h"
#include "tokenizer/tokenizer.h"

namespace {

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  throw tandem::cli::ExitCode{1};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read text file " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out || !(out << text)) fail("cannot write " + path);
}

std::unique_ptr<tandem::Engine> load(const std::string& path, int32_t n_ctx, int32_t n_threads) {
  tandem::EngineOptions options;
  options.model_path = path;
  options.n_ctx = n_ctx;
  options.n_batch = n_ctx;
  options.n_threads = n_threads;
  auto engine = tandem::Engine::load(options);
  if (!engine) fail(engine.error());
  if ((*engine)->n_ctx() < n_ctx) {
    fail(path + ": --ctx " + std::to_string(n_ctx) + " exceeds the model's training context of " +
         std::to_string((*engine)->n_ctx()) + " tokens");
  }
  return std::move(engine).value();
}

// Redrawn in place on a terminal; elsewhere (logs, pipes) only the last line.
void progress(const char* what, int32_t done, int32_t total, double ppl) {
  static const bool tty = isatty(STDERR_FILENO);
  if (!tty && done != total) return;
  std::fprintf(stderr, "%s%s: chunk %d/%d, perplexity so far %.4f", tty ? "\r" : "", what, done, total, ppl);
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

struct CommonOptions {
  std::string text_path;
  int32_t n_ctx = 512;
  int32_t chunks = -1;
  int32_t n_threads = 0;
};

void add_common(CLI::App* cmd, CommonOptions& o) {
  cmd->add_option("-f,--file", o.text_path, "Text file to evaluate on")->required();
  cmd->add_option("-c,--ctx", o.n_ctx, "Tokens per chunk")->capture_default_str();
  cmd->add_option("--chunks", o.chunks, "Evaluate at most this many chunks; -1 = all");
  cmd->add_option("-t,--threads", o.n_threads, "Threads; 0 = all cores");
}

void add_perplexity(CLI::App* eval) {
  struct Options {
    std::string model;
    CommonOptions common;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = eval->add_subcommand("perplexity", "Perplexity of a model on a text, comparable with llama.cpp's");
  cmd->add_option("-m,--model", opt->model, "GGUF model")->required();
  add_common(cmd, opt->common);
  cmd->callback([opt] {
    const std::string text = read_text(opt->common.text_path);
    auto engine = load(opt->model, opt->common.n_ctx, opt->common.n_threads);
    auto chunks = tandem::eval::make_chunks(engine->tokenizer(), text, opt->common.n_ctx, opt->common.chunks);
    if (!chunks) fail(chunks.error());
    auto r = tandem::eval::perplexity(*engine, *chunks,
                                      [](int32_t d, int32_t t, double p) { progress("perplexity", d, t, p); });
    if (!r) fail(r.error());
    std::printf("perplexity: %.4f +/- %.5f over %lld tokens (%d chunks of %d, %lld tokens of text)\n", r->ppl,
                r->ppl_stderr, static_cast<long long>(r->n_scored), r->n_chunks, r->n_ctx,
                static_cast<long long>(r->n_tokens));
  });
}

std::vector<std::string> read_prompts(const std::string& path) {
  std::istringstream in(read_text(path));
  std::vector<std::string> prompts;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') prompts.push_back(line);
  }
  if (prompts.empty()) fail(path + ": no prompts (one per line; lines starting with # are comments)");
  return prompts;
}

void add_compare(CLI::App* eval) {
  struct Options {
    std::string base;
    std::string candidate;
    std::string prompts;
    std::string report = "compare_report";
    int32_t max_tokens = 96;
    CommonOptions common;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = eval->add_subcommand("compare", "Compare a candidate model (e.g. quantized) with its base");
  cmd->add_option("--base", opt->base, "The reference model")->required();
  cmd->add_option("--candidate", opt->candidate, "The model to judge")->required();
  add_common(cmd, opt->common);
  cmd->add_option("--prompts", opt->prompts, "Chat prompts, one per line: answer them with both models");
  cmd->add_option("--report", opt->report, "Report path without extension (.md and .html are written)")
      ->capture_default_str();
  cmd->add_option("-n,--max-tokens", opt->max_tokens, "Tokens per answer at most")->capture_default_str();
  cmd->callback([opt] {
    const std::string text = read_text(opt->common.text_path);
    auto base = load(opt->base, opt->common.n_ctx, opt->common.n_threads);
    auto cand = load(opt->candidate, opt->common.n_ctx, opt->common.n_threads);
    auto chunks = tandem::eval::make_chunks(base->tokenizer(), text, opt->common.n_ctx, opt->common.chunks);
    if (!chunks) fail(chunks.error());
    if (cand->tokenizer().encode(text, true, false) != chunks->tokens) {
      fail("the two models tokenize the text differently: their predictions cannot be compared");
    }
    auto r = tandem::eval::compare_models(*base, *cand, *chunks,
                                          [](int32_t d, int32_t t, double p) { progress("compare", d, t, p); });
    if (!r) fail(r.error());
    std::error_code ec;
    r->size_base = std::filesystem::file_size(opt->base, ec);
    r->size_candidate = std::filesystem::file_size(opt->candidate, ec);
    r->size_ratio = r->size_base ? static_cast<double>(r->size_candidate) / static_cast<double>(r->size_base) : 0.0;
    std::printf("KL divergence:    mean %.6f +/- %.6f, p99 %.6f, max %.6f\n", r->kl_mean, r->kl_stderr, r->kl_p99,
                r->kl_max);
    std::printf("top-1 agreement:  %.2f%% +/- %.2f%% (%.2f%% of the %lld positions where the base's top two differ by "
                ">= %.1f nats)\n",
                100.0 * r->top1_agreement, 100.0 * r->top1_stderr, 100.0 * r->top1_agreement_decisive,
                static_cast<long long>(r->n_decisive), tandem::eval::kNearTieGap);
    std::printf("perplexity:       base %.4f, candidate %.4f, ratio %.4f +/- %.4f\n", r->ppl_base, r->ppl_candidate,
                r->ppl_ratio, r->ppl_ratio_stderr);
    std::printf("size:             base %llu bytes, candidate %llu bytes, ratio %.4f\n",
                static_cast<unsigned long long>(r->size_base), static_cast<unsigned long long>(r->size_candidate),
                r->size_ratio);
    std::printf("scored tokens:    %lld (%d chunks of %d)\n", static_cast<long long>(r->n_scored), r->n_chunks,
                r->n_ctx);
    if (!opt->prompts.empty()) {
      auto answers = tandem::eval::answer_side_by_side(*base, *cand, read_prompts(opt->prompts), opt->max_tokens);
      if (!answers) fail(answers.error());
      const tandem::eval::ReportHeader header{opt->base, opt->candidate, opt->common.text_path};
      write_text(opt->report + ".md", tandem::eval::render_markdown_report(header, *r, *answers));
      write_text(opt->report + ".html", tandem::eval::render_html_report(header, *r, *answers));
      int same = 0;
      for (const auto& a : *answers) same += a.first_divergence < 0 ? 1 : 0;
      std::printf("answers:          %d of %zu identical; report in %s.md and %s.html\n", same, answers->size(),
                  opt->report.c_str(), opt->report.c_str());
    }
  });
}

void add_imatrix(CLI::App* eval) {
  struct Options {
    std::string model;
    std::string output;
    bool include_output = false;
    CommonOptions common;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = eval->add_subcommand("imatrix", "Gather activation statistics (an importance matrix) for quantize");
  cmd->add_option("-m,--model", opt->model, "GGUF model (ideally the unquantized original)")->required();
  cmd->add_option("-o,--output", opt->output, "Output imatrix file (GGUF, llama.cpp's layout)")->required();
  cmd->add_flag("--process-output", opt->include_output, "Also gather statistics for output.weight");
  add_common(cmd, opt->common);
  cmd->callback([opt] {
    const std::string text = read_text(opt->common.text_path);
    auto engine = load(opt->model, opt->common.n_ctx, 1);
    tandem::eval::ImatrixOptions io;
    io.n_ctx = opt->common.n_ctx;
    io.max_chunks = opt->common.chunks;
    io.n_threads = opt->common.n_threads;
    io.include_output = opt->include_output;
    io.dataset = std::filesystem::path(opt->common.text_path).filename().string();
    auto run = tandem::eval::collect_imatrix(engine->model(), engine->tokenizer(), text, io,
                                             [](int32_t d, int32_t t, double p) { progress("imatrix", d, t, p); });
    if (!run) fail(run.error());
    if (auto ok = tandem::quantize::write_imatrix(run->imatrix, opt->output); !ok) fail(ok.error());
    std::printf("imatrix: %zu matrices from %lld tokens (%d chunks of %d), perplexity %.4f; written to %s\n",
                run->imatrix.entries.size(), static_cast<long long>(run->n_tokens), run->n_chunks, io.n_ctx, run->ppl,
                opt->output.c_str());
  });
}

void add_eval(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Measure model quality: perplexity, A/B comparison, imatrix, logits");
  eval->require_subcommand(1);
  add_perplexity(eval);
  add_compare(eval);
  add_imatrix(eval);
  tandem::cli::add_eval_logits(eval);
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_eval);
