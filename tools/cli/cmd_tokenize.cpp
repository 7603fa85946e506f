// `tandem tokenize -m MODEL (-p TEXT | -f FILE) [--no-bos]`: the token ids of a text, on one line.
// Special tokens written in the text are parsed, as llama.cpp's llama-tokenize does.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "command_registry.h"
#include "gguf/gguf_reader.h"
#include "tokenizer/tokenizer.h"

namespace {

struct TokenizeOptions {
  std::string model;
  std::string prompt;
  std::string file;
  bool no_bos = false;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  throw tandem::cli::ExitCode{1};
}

void run_tokenize(const TokenizeOptions& opt) {
  std::string text = opt.prompt;
  if (!opt.file.empty()) {
    std::ifstream in(opt.file, std::ios::binary);
    if (!in) fail("cannot read " + opt.file);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  auto file = tandem::gguf::GgufFile::open(opt.model);
  if (!file) fail(file.error());
  auto tok = tandem::Tokenizer::from_gguf(*file);
  if (!tok) fail(opt.model + ": " + tok.error());
  const std::vector<int32_t> ids = tok->encode(text, /*add_special=*/!opt.no_bos, /*parse_special=*/true);
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::printf("%s\n", line.c_str());
}

void add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text, space-separated");
  auto opt = std::make_shared<TokenizeOptions>();
  cmd->add_option("-m,--model", opt->model, "GGUF model or vocabulary file")->required();
  auto* prompt = cmd->add_option("-p,--prompt", opt->prompt, "Text to tokenize");
  auto* file = cmd->add_option("-f,--file", opt->file, "File whose bytes are tokenized");
  prompt->excludes(file);
  cmd->add_flag("--no-bos", opt->no_bos, "Add no BOS/EOS even where the model asks for them");
  cmd->callback([opt, prompt, file] {
    if (prompt->count() == 0 && file->count() == 0) fail("give the text with -p TEXT or -f FILE");
    run_tokenize(*opt);
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_tokenize);
