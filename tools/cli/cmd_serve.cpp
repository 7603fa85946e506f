// `tandem serve --config tandem.json [--network.port 9000 | --port 9000 ...]`: the backend server.
// Every option of the config file is also a flag (generated from the option table); the command
// line wins over the file. A config with errors is reported in full and nothing starts.

#include <cstdio>
#include <memory>

#include "app/server_app.h"
#include "command_registry.h"
#include "config/config_loader.h"
#include "config/config_options.h"
#include "config/host_checks.h"
#include "config_flags.h"

namespace {

struct ServeOptions {
  std::string config_file;
  bool check_only = false;
  std::unique_ptr<tandem::cli::ConfigFlags<tandem::config::ServerConfig>> flags;
};

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP with an OpenAI-compatible API");
  auto opt = std::make_shared<ServeOptions>();
  cmd->add_option("-c,--config", opt->config_file, "JSON config file (see the options below; all optional but model.path)");
  cmd->add_flag("--check", opt->check_only, "Check the config and the host, print the problems, and exit");
  opt->flags = std::make_unique<tandem::cli::ConfigFlags<tandem::config::ServerConfig>>(
      cmd, tandem::config::option_table(), std::vector<std::pair<std::string_view, std::string_view>>{{"model.path", "-m"}});
  cmd->footer("Sizes accept bytes or units: 4GB (10^9), 512MiB (2^20). Lists are comma-separated or repeated.");
  cmd->callback([opt, cmd] {
    const auto overrides = opt->flags->overrides(cmd);
    auto loaded = opt->config_file.empty() ? tandem::config::load_config("", "", overrides)
                                           : tandem::config::load_config_file(opt->config_file, overrides);
    if (!loaded.report.has_errors()) {
      tandem::config::check_host(loaded.config, tandem::config::host_facts_from_system(), loaded.report);
    }
    tandem::cli::report_or_exit(loaded.report, "serve");
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
