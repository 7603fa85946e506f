#pragma once
// Each subcommand lives in its own file and registers itself here, so main() stays thin and
// adding a command touches no shared file:
//
//   namespace { void add_inspect(CLI::App& app) { ... } }
//   TANDEM_REGISTER_COMMAND(add_inspect);
//
// A command's callback returns through CLI11; failures throw tandem::cli::ExitCode(code).

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace tandem::cli {

using CommandAdder = void (*)(CLI::App& app);

std::vector<CommandAdder>& command_registry();

struct CommandRegistration {
  explicit CommandRegistration(CommandAdder adder) { command_registry().push_back(adder); }
};

// Thrown by a command to leave with a given exit status after printing its own message.
struct ExitCode {
  int code;
};

}  // namespace tandem::cli

#define TANDEM_REGISTER_COMMAND(fn) \
  static const ::tandem::cli::CommandRegistration tandem_registration_##fn{&fn}
