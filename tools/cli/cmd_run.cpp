// `tandem run -m MODEL -p PROMPT`: streams the continuation of a prompt to stdout.
// Only generated text goes to stdout; diagnostics go to stderr.

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli_support.h"
#include "command_registry.h"
#include "sampling_options.h"
#include "tandem/engine.h"

namespace {

struct RunOptions {
  tandem::EngineOptions engine;
  std::string prompt;
  std::string prompt_file;
  int32_t n_predict = 128;
  bool verbose = false;
  tandem::SamplingParams sampling;
};

void add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Continue a prompt with a model, streaming the text to stdout");
  auto opt = std::make_shared<RunOptions>();
  tandem::cli::add_engine_options(cmd, opt->engine);
  auto* prompt = cmd->add_option("-p,--prompt", opt->prompt, "Prompt text");
  cmd->add_option("-f,--file", opt->prompt_file, "Read the prompt from a file")->excludes(prompt);
  cmd->add_option("-n,--n-predict", opt->n_predict, "Tokens to generate at most")->capture_default_str();
  cmd->add_flag("-v,--verbose", opt->verbose, "Print timings to stderr");
  tandem::cli::add_sampling_options(cmd, opt->sampling);
  cmd->callback([opt] {
    if (!opt->prompt_file.empty()) opt->prompt = tandem::cli::read_file_or_exit(opt->prompt_file, "prompt file");
    auto engine = tandem::cli::load_engine_or_exit(opt->engine);
    tandem::GenerationRequest request;
    request.prompt_tokens = engine->tokenize_prompt(opt->prompt);
    request.sampling = opt->sampling;
    request.max_tokens = opt->n_predict;
    auto result = engine->generate(request, [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    if (!result) {
      std::fprintf(stderr, "error: %s\n", result.error().c_str());
      throw tandem::cli::ExitCode{1};
    }
    if (opt->verbose) {
      std::fprintf(stderr, "\n[%d prompt tokens, %zu generated, finish: %s]\n", result->n_prompt_tokens,
                   result->tokens.size(), std::string(tandem::finish_reason_name(result->finish)).c_str());
    }
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_run);
