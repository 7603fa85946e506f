// `tandem template (-m MODEL | --template FILE [--bos TEXT --eos TEXT]) --messages FILE.json
//  [--no-generation-prompt] [--var NAME=JSON ...]`: prints a chat prompt exactly as the model's
// chat template renders it (no newline added), to check a template against transformers.
//
// FILE.json is a list of messages, or an object whose members all become template variables
// ({"messages": [...], "tools": [...], ...}). --var values are JSON (`--var enable_thinking=false`);
// a value that is not JSON is taken as a string.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "command_registry.h"
#include "gguf/gguf_reader.h"

namespace {

struct TemplateOptions {
  std::string model;
  std::string template_file;
  std::string bos;
  std::string eos;
  std::string messages_file;
  bool no_generation_prompt = false;
  std::vector<std::string> vars;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  throw tandem::cli::ExitCode{1};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Ordered, so that tool schemas reach |tojson in the order the file has them.
nlohmann::ordered_json build_context(const TemplateOptions& opt) {
  nlohmann::ordered_json messages;
  try {
    messages = nlohmann::ordered_json::parse(read_file(opt.messages_file));
  } catch (const nlohmann::json::parse_error& e) {
    fail(opt.messages_file + ": not valid JSON: " + e.what());
  }
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  if (messages.is_array()) {
    context["messages"] = std::move(messages);
  } else if (messages.is_object() && messages.contains("messages")) {
    context = std::move(messages);
  } else {
    fail(opt.messages_file + ": expected a list of messages or an object with \"messages\"");
  }
  context["add_generation_prompt"] = !opt.no_generation_prompt;
  for (const std::string& var : opt.vars) {
    const size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0) fail("--var " + var + ": expected NAME=JSON");
    const std::string value = var.substr(eq + 1);
    auto parsed = nlohmann::ordered_json::parse(value, nullptr, /*allow_exceptions=*/false);
    context[var.substr(0, eq)] = parsed.is_discarded() ? nlohmann::ordered_json(value) : parsed;
  }
  return context;
}

void run_template(const TemplateOptions& opt, bool bos_given, bool eos_given) {
  tandem::ChatTemplateSource source;
  if (!opt.model.empty()) {
    auto file = tandem::gguf::GgufFile::open(opt.model);
    if (!file) fail(file.error());
    auto from_model = tandem::chat_template_from_gguf(*file);
    if (!from_model) fail(opt.model + ": " + from_model.error());
    source = std::move(*from_model);
  } else {
    source.source = read_file(opt.template_file);
  }
  if (bos_given) source.bos_token = opt.bos;
  if (eos_given) source.eos_token = opt.eos;

  nlohmann::ordered_json context = build_context(opt);
  context["bos_token"] = source.bos_token;
  context["eos_token"] = source.eos_token;

  auto tmpl = tandem::ChatTemplate::parse(source.source);
  if (!tmpl) fail(tmpl.error());
  auto prompt = tmpl->render(context);
  if (!prompt) fail(prompt.error());
  std::fwrite(prompt->data(), 1, prompt->size(), stdout);
  std::fflush(stdout);
}

void add_template(CLI::App& app) {
  auto* cmd = app.add_subcommand("template", "Render a chat template with messages, exactly as transformers would");
  auto opt = std::make_shared<TemplateOptions>();
  auto* model = cmd->add_option("-m,--model", opt->model, "GGUF model whose tokenizer.chat_template to use");
  auto* file = cmd->add_option("--template", opt->template_file, "Jinja chat template file");
  model->excludes(file);
  auto* bos = cmd->add_option("--bos", opt->bos, "Text of the BOS token (default: the model's, or empty)");
  auto* eos = cmd->add_option("--eos", opt->eos, "Text of the EOS token (default: the model's, or empty)");
  cmd->add_option("--messages", opt->messages_file, "JSON file: a list of messages, or {\"messages\": [...], ...}")
      ->required();
  cmd->add_flag("--no-generation-prompt", opt->no_generation_prompt, "Render with add_generation_prompt=false");
  cmd->add_option("--var", opt->vars, "Extra template variable NAME=JSON, e.g. enable_thinking=false (repeatable)");
  cmd->callback([opt, model, file, bos, eos] {
    if (model->count() == 0 && file->count() == 0) fail("give the template with -m MODEL or --template FILE");
    run_template(*opt, bos->count() > 0, eos->count() > 0);
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_template);
