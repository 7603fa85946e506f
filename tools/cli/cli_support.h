#pragma once
// Small pieces the generation commands (run, chat) share: engine flags and file reading.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "command_registry.h"
#include "tandem/engine.h"

namespace tandem::cli {

inline void add_engine_options(CLI::App* cmd, EngineOptions& o) {
  cmd->add_option("-m,--model", o.model_path, "GGUF model file")->required();
  cmd->add_option("-c,--ctx-size", o.n_ctx, "Context size in tokens")->capture_default_str();
  cmd->add_option("-t,--threads", o.n_threads, "Threads; 0 = all cores");
}

// The whole file, or a one-line error and exit status 1.
inline std::string read_file_or_exit(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "error: cannot read %s %s\n", what, path.c_str());
    throw ExitCode{1};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::unique_ptr<Engine> load_engine_or_exit(const EngineOptions& options) {
  auto engine = Engine::load(options);
  if (!engine) {
    std::fprintf(stderr, "error: %s\n", engine.error().c_str());
    throw ExitCode{1};
  }
  return std::move(engine).value();
}

}  // namespace tandem::cli
