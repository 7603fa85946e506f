// `tandem synth --preset NAME --type TYPE [--layers N] OUT.gguf`: a model file with a real model's shapes,
// random weights and a real vocabulary, for speed measurements (see model/synth.h).

#include <cstdio>
#include <cstdlib>

#include "command_registry.h"
#include "model/synth.h"

namespace {

struct SynthCliOptions {
  tandem::SynthOptions synth;
  std::string out;
};

void add_synth(CLI::App& app) {
  auto* cmd = app.add_subcommand("synth", "Write a random-weight GGUF with a real model's shapes and vocabulary");
  auto opt = std::make_shared<SynthCliOptions>();
  // The shared references sit beside the checkout (../shared); TANDEM_SHARED_DIR overrides.
  const char* shared = std::getenv("TANDEM_SHARED_DIR");
  opt->synth.vocab_dir = std::string(shared ? shared : "../shared") + "/reference/tokenizer";
  cmd->add_option("--preset", opt->synth.preset, "tinyllama-1.1b | smollm2-135m | llama-8b | qwen3moe-30b-a3b | qwen3next-80b-a3b")
      ->required();
  cmd->add_option("--layers", opt->synth.n_layers,
                  "Keep the preset's layer shapes with only this many layers (0 = all), to measure a big model's "
                  "per-layer speed in less memory");
  cmd->add_option("--type", opt->synth.type, "q4_0 | q8_0 | q4_k_m | f16")->required();
  cmd->add_option("--vocab", opt->synth.vocab_path, "GGUF to take the vocabulary from (default: the preset's)");
  cmd->add_option("--vocab-dir", opt->synth.vocab_dir, "Folder of the shared vocabulary files")->capture_default_str();
  cmd->add_option("--seed", opt->synth.seed, "Random seed")->capture_default_str();
  cmd->add_option("-t,--threads", opt->synth.n_threads, "Quantization threads; 0 = all cores");
  cmd->add_option("out", opt->out, "Output GGUF file")->required();
  cmd->callback([opt] {
    if (auto ok = tandem::write_synthetic_model(opt->synth, opt->out); !ok) {
      std::fprintf(stderr, "error: %s\n", ok.error().c_str());
      throw tandem::cli::ExitCode{1};
    }
    std::fprintf(stderr, "wrote %s\n", opt->out.c_str());
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_synth);
