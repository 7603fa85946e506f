// The one `tandem` binary: subcommands register themselves (see command_registry.h).

#include <cstdio>

#include "command_registry.h"

namespace tandem::cli {
std::vector<CommandAdder>& command_registry() {
  static std::vector<CommandAdder> registry;
  return registry;
}
}  // namespace tandem::cli

int main(int argc, char** argv) {
  CLI::App app{"Tandem: run large language models on premises"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tandem 0.1.0");
  for (auto adder : tandem::cli::command_registry()) adder(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tandem::cli::ExitCode& e) {
    return e.code;
  }
  return 0;
}
