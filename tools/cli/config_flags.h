#pragma once
// Command-line flags generated from an option table (serve's or the gateway's): every option of
// the config file is also a flag (`--network.port 9000`, or its short form `--port 9000`), listed
// by --help with its type, unit and default; the command line wins over the file. Unknown flags
// reach the config loader, which suggests the option meant ("did you mean").

#include <CLI/CLI.hpp>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "command_registry.h"
#include "config/option_loader.h"

namespace tandem::cli {

template <typename Config>
class ConfigFlags {
 public:
  ConfigFlags(CLI::App* cmd, const std::vector<config::OptionSpecT<Config>>& table) : table_(table) {
    for (const auto& spec : table) {
      std::string names = "--" + std::string(spec.path);
      if (!spec.flag.empty()) names += ",--" + std::string(spec.flag);
      auto& slot = flags_.emplace_back();
      slot.first = cmd->add_option(names, slot.second, config::describe_option(spec));
      slot.first->type_name(spec.unit.empty() ? "VALUE" : "N");
      if (spec.kind() != config::OptionKind::kStringList) {
        slot.first->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    }
    cmd->allow_extras();
  }

  // The flags given, as overrides for the loader; exits with status 2 on a stray argument.
  std::vector<config::Override> overrides(const CLI::App* cmd) const {
    std::vector<config::Override> out;
    for (const std::string& extra : cmd->remaining()) {
      if (extra.starts_with("--")) {
        const size_t eq = extra.find('=');
        out.push_back({extra.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), ""});
      } else {
        std::fprintf(stderr, "error: unexpected argument \"%s\"\n", extra.c_str());
        throw ExitCode{2};
      }
    }
    size_t i = 0;
    for (const auto& spec : table_) {
      const auto& [option, values] = flags_[i++];
      if (option->count() == 0) continue;
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : ",") + v;
      out.push_back({std::string(spec.path), joined});
    }
    return out;
  }

 private:
  const std::vector<config::OptionSpecT<Config>>& table_;
  // One slot per option; a deque keeps the addresses CLI11 holds stable.
  std::deque<std::pair<CLI::Option*, std::vector<std::string>>> flags_;
};

// Prints the report; on errors says so and exits with status 2.
inline void report_or_exit(const config::ConfigReport& report, const char* command) {
  const std::string text = report.to_string();
  if (!text.empty()) std::fputs(text.c_str(), stderr);
  if (report.has_errors()) {
    const size_t n = report.count(config::Severity::kError);
    std::fprintf(stderr, "tandem %s: %zu problem%s in the config; nothing was started\n", command, n, n == 1 ? "" : "s");
    throw ExitCode{2};
  }
}

}  // namespace tandem::cli
