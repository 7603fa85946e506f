// `tandem run -m MODEL -p PROMPT`: streams the continuation of a prompt to stdout.
// Only generated text goes to stdout; diagnostics go to stderr.

#include <cstdio>
#include <fstream>
#include <sstream>

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
  cmd->add_option("-m,--model", opt->engine.model_path, "GGUF model file")->required();
  auto* prompt = cmd->add_option("-p,--prompt", opt->prompt, "Prompt text");
  cmd->add_option("-f,--file", opt->prompt_file, "Read the prompt from a file")->excludes(prompt);
  cmd->add_option("-n,--n-predict", opt->n_predict, "Tokens to generate at most")->capture_default_str();
  cmd->add_option("-c,--ctx-size", opt->engine.n_ctx, "Context size in tokens")->capture_default_str();
  cmd->add_option("-t,--threads", opt->engine.n_threads, "Threads; 0 = all cores");
  cmd->add_flag("-v,--verbose", opt->verbose, "Print timings to stderr");
  tandem::cli::add_sampling_options(cmd, opt->sampling);
  cmd->callback([opt] {
    if (!opt->prompt_file.empty()) {
      std::ifstream in(opt->prompt_file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "error: cannot read prompt file %s\n", opt->prompt_file.c_str());
        throw tandem::cli::ExitCode{1};
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      opt->prompt = ss.str();
    }
    auto engine = tandem::Engine::load(opt->engine);
    if (!engine) {
      std::fprintf(stderr, "error: %s\n", engine.error().c_str());
      throw tandem::cli::ExitCode{1};
    }
    tandem::GenerationRequest request;
    request.prompt_tokens = (*engine)->tokenize_prompt(opt->prompt);
    request.sampling = opt->sampling;
    request.max_tokens = opt->n_predict;
    auto result = (*engine)->generate(request, [](std::string_view piece) {
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
