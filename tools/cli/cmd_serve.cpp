// `tandem serve --config tandem.json [--network.port 9000 | --port 9000 ...]`: the backend server.
// Every option of the config file is also a flag (generated from the option table); the command
// line wins over the file. A config with errors is reported in full and nothing starts.

#include <cstdio>
#include <deque>
#include <memory>

#include "app/server_app.h"
#include "command_registry.h"
#include "config/config_loader.h"
#include "config/config_options.h"
#include "config/host_checks.h"

namespace {

struct ServeOptions {
  std::string config_file;
  bool check_only = false;
  // One slot per option flag; deque keeps the addresses CLI11 holds stable.
  std::deque<std::pair<CLI::Option*, std::vector<std::string>>> flags;
};

std::string describe(const tandem::config::OptionSpec& spec) {
  std::string text(spec.help);
  text += " [" + std::string(tandem::config::type_name(spec.field));
  if (!spec.unit.empty()) text += ", " + std::string(spec.unit);
  text += spec.required ? ", required]" : ", default " + std::string(spec.default_json) + "]";
  return text;
}

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP with an OpenAI-compatible API");
  auto opt = std::make_shared<ServeOptions>();
  cmd->add_option("-c,--config", opt->config_file, "JSON config file (see the options below; all optional but model.path)");
  cmd->add_flag("--check", opt->check_only, "Check the config and the host, print the problems, and exit");
  for (const auto& spec : tandem::config::option_table()) {
    std::string names = "--" + std::string(spec.path);
    if (spec.path == "model.path") names = "-m," + names;
    if (!spec.flag.empty()) names += ",--" + std::string(spec.flag);
    auto& slot = opt->flags.emplace_back();
    slot.first = cmd->add_option(names, slot.second, describe(spec));
    slot.first->type_name(spec.unit.empty() ? "VALUE" : "N");
    if (spec.field.index() != 4) slot.first->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  // Unknown flags reach the config loader, which suggests the option meant ("did you mean").
  cmd->allow_extras();
  cmd->footer("Sizes accept bytes or units: 4GB (10^9), 512MiB (2^20). Lists are comma-separated or repeated.");
  cmd->callback([opt, cmd] {
    std::vector<tandem::config::Override> overrides;
    for (const std::string& extra : cmd->remaining()) {
      if (extra.starts_with("--")) {
        const size_t eq = extra.find('=');
        overrides.push_back({extra.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), ""});
      } else {
        std::fprintf(stderr, "error: unexpected argument \"%s\"\n", extra.c_str());
        throw tandem::cli::ExitCode{2};
      }
    }
    size_t i = 0;
    for (const auto& spec : tandem::config::option_table()) {
      const auto& [option, values] = opt->flags[i++];
      if (option->count() == 0) continue;
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
      overrides.push_back({std::string(spec.path), joined});
    }
    auto loaded = opt->config_file.empty() ? tandem::config::load_config("", "", overrides)
                                           : tandem::config::load_config_file(opt->config_file, overrides);
    if (!loaded.report.has_errors()) {
      tandem::config::check_host(loaded.config, tandem::config::host_facts_from_system(), loaded.report);
    }
    const std::string report = loaded.report.to_string();
    if (!report.empty()) std::fputs(report.c_str(), stderr);
    if (loaded.report.has_errors()) {
      const size_t n = loaded.report.count(tandem::config::Severity::kError);
      std::fprintf(stderr, "tandem serve: %zu problem%s in the config; nothing was started\n", n, n == 1 ? "" : "s");
      throw tandem::cli::ExitCode{2};
    }
    if (opt->check_only) {
      std::fprintf(stderr, "tandem serve: the config is good\n");
      return;
    }
    const int code = tandem::server::run_server(loaded.config);
    if (code != 0) throw tandem::cli::ExitCode{code};
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_serve);
