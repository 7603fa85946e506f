// `tandem quantize IN.gguf OUT.gguf --type T [--imatrix FILE]`: converts a model's weights to
// another type (or a mix of types), as llama-quantize does, with a progress bar on stderr.

#include <unistd.h>

#include <cstdio>
#include <map>
#include <vector>
#include <string>

#include "command_registry.h"
#include "gguf/gguf_reader.h"
#include "quantize/imatrix_file.h"
#include "quantize/model_quantizer.h"
#include "quantize/quant_plan.h"
#include "quantize/weighted_quantize.h"

namespace {

struct QuantizeCliOptions {
  std::string input;
  std::string output;
  std::string type;
  std::string imatrix;
  int32_t n_threads = 0;
  bool quiet = false;
  bool verbose = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  throw tandem::cli::ExitCode{1};
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// One line redrawn in place: [#####.....]  42% 12/48 blk.1.ffn_up.weight
class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void draw(const tandem::quantize::QuantizeProgress& p) {
    if (!enabled_) return;
    constexpr int kWidth = 30;
    const double frac = p.total_bytes ? static_cast<double>(p.done_bytes) / static_cast<double>(p.total_bytes) : 1.0;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r[%s] %3d%% %zu/%zu %-40.40s", bar.c_str(), static_cast<int>(frac * 100.0),
                 p.tensor_index + 1, p.n_tensors, std::string(p.tensor_name).c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  void done() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
  bool drawn_ = false;
};

void add_quantize(CLI::App& app) {
  std::string types;
  for (std::string_view n : tandem::quantize::quant_target_names()) types += (types.empty() ? "" : ", ") + std::string(n);
  auto* cmd = app.add_subcommand("quantize", "Convert a GGUF model's weights to a smaller type or mix");
  auto opt = std::make_shared<QuantizeCliOptions>();
  cmd->add_option("input", opt->input, "Input GGUF model")->required();
  cmd->add_option("output", opt->output, "Output GGUF file")->required();
  cmd->add_option("--type", opt->type, "Target type: " + types)->required();
  cmd->add_option("--imatrix", opt->imatrix, "Importance matrix from `tandem eval imatrix` (or llama-imatrix)");
  cmd->add_option("-t,--threads", opt->n_threads, "Threads; 0 = all cores");
  cmd->add_flag("-q,--quiet", opt->quiet, "No progress bar");
  cmd->add_flag("-v,--verbose", opt->verbose, "Also list the tensors given more bits by the mix");
  cmd->callback([opt] {
    auto target = tandem::quantize::parse_quant_target(opt->type);
    if (!target) fail(target.error());
    auto file = tandem::gguf::GgufFile::open(opt->input);
    if (!file) fail(file.error());
    auto plan = tandem::quantize::plan_quantization(*file, *target);
    if (!plan) fail(plan.error());
    for (const std::string& w : plan->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    // Fallbacks are grouped by reason: a small model can have dozens with the same cause.
    std::map<std::string, std::vector<std::string>> by_note;
    for (const auto& t : plan->tensors) {
      if (t.fallback || (opt->verbose && !t.note.empty())) by_note[t.note].push_back(t.name);
    }
    for (const auto& [note, names] : by_note) {
      std::string which = names.front();
      if (names.size() > 1) which += " and " + std::to_string(names.size() - 1) + " more";
      std::fprintf(stderr, "note: %s: %s\n", which.c_str(), note.c_str());
    }
    if (plan->n_fallback > 0) {
      std::fprintf(stderr, "warning: %d of %zu tensors fell back to another type because their rows do not fit "
                   "the block size\n", plan->n_fallback, plan->tensors.size());
    }

    tandem::quantize::Imatrix imatrix;
    tandem::quantize::QuantizeOptions qopt;
    qopt.output_path = opt->output;
    qopt.n_threads = opt->n_threads;
    if (!opt->imatrix.empty()) {
      auto loaded = tandem::quantize::read_imatrix(opt->imatrix);
      if (!loaded) fail(loaded.error());
      imatrix = std::move(loaded).value();
      qopt.imatrix = &imatrix;
      if (!tandem::quantize::uses_importance(target->base)) {
        std::fprintf(stderr, "note: %s does not use an imatrix (its rounding error is already small); "
                     "only the tensors of other types will\n", target->name.c_str());
      }
    }

    ProgressBar bar(!opt->quiet);
    auto report = tandem::quantize::quantize_model(*file, opt->input, *plan, qopt,
                                                   [&](const tandem::quantize::QuantizeProgress& p) { bar.draw(p); });
    bar.done();
    if (!report) fail(report.error());
    for (const std::string& n : report->notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    std::fprintf(stderr, "%s: %.2f MiB -> %.2f MiB (%.3fx), %d tensors converted%s, %.1f s\n", opt->output.c_str(),
                 mib(report->input_bytes), mib(report->output_bytes),
                 report->input_bytes ? static_cast<double>(report->output_bytes) / static_cast<double>(report->input_bytes)
                                     : 0.0,
                 report->n_converted,
                 qopt.imatrix ? (" (" + std::to_string(report->n_with_importance) + " with importance)").c_str() : "",
                 report->seconds);
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_quantize);
