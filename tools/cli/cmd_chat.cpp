// `tandem chat -m MODEL`: an interactive terminal chat through the model's chat template.
// Each turn re-renders the whole conversation; the engine's prefix reuse keeps earlier turns'
// keys and values, so only the new text is processed.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_support.h"
#include "command_registry.h"
#include "sampling_options.h"
#include "tandem/engine.h"

namespace {

struct ChatOptions {
  tandem::EngineOptions engine;
  std::string system_prompt;
  std::string template_file;
  int32_t n_predict = 512;
  tandem::SamplingParams sampling;
};

void add_chat(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "Chat with a model in the terminal (/reset clears, /exit or Ctrl-D quits)");
  auto opt = std::make_shared<ChatOptions>();
  tandem::cli::add_engine_options(cmd, opt->engine);
  cmd->add_option("-s,--system", opt->system_prompt, "System prompt");
  cmd->add_option("-n,--n-predict", opt->n_predict, "Tokens per answer at most")->capture_default_str();
  cmd->add_option("--chat-template-file", opt->template_file, "Jinja chat template replacing the model's own");
  tandem::cli::add_sampling_options(cmd, opt->sampling);
  cmd->callback([opt] {
    if (!opt->template_file.empty()) {
      opt->engine.chat_template = tandem::cli::read_file_or_exit(opt->template_file, "chat template");
    }
    std::fprintf(stderr, "loading %s ...\n", opt->engine.model_path.c_str());
    auto engine = tandem::cli::load_engine_or_exit(opt->engine);
    const bool interactive = isatty(STDIN_FILENO);
    nlohmann::json messages = nlohmann::json::array();
    auto reset = [&] {
      messages = nlohmann::json::array();
      if (!opt->system_prompt.empty()) messages.push_back({{"role", "system"}, {"content", opt->system_prompt}});
    };
    reset();
    if (interactive) std::fprintf(stderr, "ready: type a message (/reset clears the chat, /exit quits)\n");
    std::string line;
    while (true) {
      if (interactive) {
        std::fputs("\n> ", stdout);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      if (line == "/exit" || line == "/quit") break;
      if (line == "/reset") {
        reset();
        continue;
      }
      if (line.empty()) continue;
      messages.push_back({{"role", "user"}, {"content", line}});
      auto prompt = engine->apply_chat_template(messages.dump(), /*add_generation_prompt=*/true);
      if (!prompt) {
        std::fprintf(stderr, "error: %s\n", prompt.error().c_str());
        throw tandem::cli::ExitCode{1};
      }
      tandem::GenerationRequest request;
      request.prompt_tokens = engine->tokenize_prompt(*prompt);
      request.sampling = opt->sampling;
      request.max_tokens = opt->n_predict;
      if (static_cast<int32_t>(request.prompt_tokens.size()) + opt->n_predict >= engine->n_ctx()) {
        std::fprintf(stderr, "[the conversation no longer fits the context; starting over]\n");
        reset();
        messages.push_back({{"role", "user"}, {"content", line}});
        prompt = engine->apply_chat_template(messages.dump(), true);
        if (!prompt) throw tandem::cli::ExitCode{1};
        request.prompt_tokens = engine->tokenize_prompt(*prompt);
      }
      auto result = engine->generate(request, [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      if (!result) {
        std::fprintf(stderr, "error: %s\n", result.error().c_str());
        continue;
      }
      std::fputs("\n", stdout);
      std::fflush(stdout);
      messages.push_back({{"role", "assistant"}, {"content", result->text}});
    }
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_chat);
