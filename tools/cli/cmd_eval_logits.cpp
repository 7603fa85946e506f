// `tandem eval logits -m MODEL --ids 1,2,3 [--top K] [--json]`: the top K logits at every
// position of an explicit token sequence, run as one prompt pass. Loads the weights only (no
// tokenizer), so llama.cpp's random-weight test models with a stub vocabulary run too.
// Text: one line per position; --json: {"n_vocab", "ids", "positions": [{"argmax", "top": [[id, logit]]}]}.

#include <cstdio>
#include <memory>
#include <string>

#include "cmd_eval_logits.h"
#include "command_registry.h"
#include "eval/token_logits.h"
#include "model/model.h"

namespace tandem::cli {

namespace {

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  throw ExitCode{1};
}

}  // namespace

void add_eval_logits(CLI::App* eval) {
  struct Options {
    std::string model;
    std::string ids;
    int32_t top = 10;
    int32_t n_threads = 0;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = eval->add_subcommand("logits", "Top logits at every position of explicit token ids (one prompt pass)");
  cmd->add_option("-m,--model", opt->model, "GGUF model (a vocabulary is not needed)")->required();
  cmd->add_option("--ids", opt->ids, "Token ids separated by commas, e.g. 1,2,3")->required();
  cmd->add_option("--top", opt->top, "Logits shown per position (clamped to the vocabulary)")->capture_default_str();
  cmd->add_option("-t,--threads", opt->n_threads, "Threads; 0 = all cores");
  cmd->add_flag("--json", opt->json, "Print JSON: {\"positions\": [{\"top\": [[id, logit], ...]}]}");
  cmd->callback([opt] {
    if (opt->top < 1) fail("--top must be at least 1 (got " + std::to_string(opt->top) + ")");
    if (opt->n_threads < 0) fail("--threads must not be negative (0 = all cores)");
    auto ids = eval::parse_token_ids(opt->ids);
    if (!ids) fail(ids.error());
    auto model = Model::load(opt->model);
    if (!model) fail(model.error());
    const int32_t n_vocab = (*model)->config().n_vocab;
    auto rows = eval::token_logits(**model, *ids, opt->n_threads);
    if (!rows) fail(opt->model + ": " + rows.error());
    std::vector<std::vector<eval::TopLogit>> positions;
    positions.reserve(rows->size());
    for (const auto& row : *rows) positions.push_back(eval::top_logits(row, opt->top));
    if (opt->json) {
      std::printf("%s\n", eval::top_logits_json(*ids, n_vocab, positions).c_str());
      return;
    }
    for (size_t pos = 0; pos < positions.size(); ++pos) {
      std::printf("%4zu %6d ->", pos, (*ids)[pos]);
      for (const auto& t : positions[pos]) std::printf(" %d:%.5f", t.id, static_cast<double>(t.logit));
      std::printf("\n");
    }
  });
}

}  // namespace tandem::cli
