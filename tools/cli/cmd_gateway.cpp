// `tandem gateway --config gateway.json [--network.port 8000 | --port 8000 ...]`: the front end
// that people and applications talk to, in front of one or more `tandem serve` backends. Every
// option of the config file is also a flag (from the gateway's option table); the command line
// wins. A config with errors is reported in full and nothing starts.

#include <cstdio>
#include <memory>

#include "command_registry.h"
#include "config_flags.h"
#include "gateway/app/gateway_app.h"
#include "gateway/config/gateway_options.h"

namespace {

struct GatewayOptions {
  std::string config_file;
  bool check_only = false;
  std::unique_ptr<tandem::cli::ConfigFlags<tandem::gateway::GatewayConfig>> flags;
};

void add_gateway(CLI::App& app) {
  auto* cmd = app.add_subcommand("gateway", "Front end: one address for every backend, with probes and failover");
  auto opt = std::make_shared<GatewayOptions>();
  cmd->add_option("-c,--config", opt->config_file, "JSON config file (see the options below; \"links\" is required)");
  cmd->add_flag("--check", opt->check_only, "Check the config, print the problems, and exit (contacts no link)");
  opt->flags = std::make_unique<tandem::cli::ConfigFlags<tandem::gateway::GatewayConfig>>(
      cmd, tandem::gateway::gateway_option_table());
  cmd->footer("links is a JSON list: --links '[{\"name\": \"primary\", \"url\": \"http://127.0.0.1:8080\"}]'. "
              "Sizes accept bytes or units: 4MiB. Lists of strings are comma-separated or repeated.");
  cmd->callback([opt, cmd] {
    const auto overrides = opt->flags->overrides(cmd);
    auto loaded = opt->config_file.empty()
                      ? tandem::gateway::load_gateway_config("", "", overrides)
                      : tandem::gateway::load_gateway_config_file(opt->config_file, overrides);
    tandem::cli::report_or_exit(loaded.report, "gateway");
    if (opt->check_only) {
      std::fprintf(stderr, "tandem gateway: the config is good (%zu link%s)\n", loaded.config.links.size(),
                   loaded.config.links.size() == 1 ? "" : "s");
      return;
    }
    const int code = tandem::gateway::run_gateway(loaded.config);
    if (code != 0) throw tandem::cli::ExitCode{code};
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_gateway);
