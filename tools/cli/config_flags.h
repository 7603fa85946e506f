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
  // `aliases` adds one-letter names: {{"model.path", "-m"}}.
  ConfigFlags(CLI::App* cmd, const std::vector<config::OptionSpecT<Config>>& table,
              std::vector<std::pair<std::string_view, std::string_view>> aliases = {})
      : table_(table) {
    for (const auto& spec : table) {
      std::string names = "--" + std::string(spec.path);
      for (const auto& [path, alias] : aliases) {
        if (path == spec.path) names = std::string(alias) + "," + names;
      }
      if (!spec.flag.empty()) names += ",--" + std::string(spec.flag);
      auto& slot = flags_.emplace_back();
      if (spec.kind() == config::OptionKind::kObjectList) {
        // JSON text, taken whole: CLI11 would split a bracketed value into a list.
        slot.option = cmd->add_option(names, slot.json, config::describe_option(spec));
        slot.option->type_name("JSON");
        continue;
      }
      slot.option = cmd->add_option(names, slot.values, config::describe_option(spec));
      slot.option->type_name(spec.unit.empty() ? "VALUE" : "N");
      if (spec.kind() != config::OptionKind::kStringList) {
        slot.option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
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
      const Slot& slot = flags_[i++];
      if (slot.option->count() == 0) continue;
      if (spec.kind() == config::OptionKind::kObjectList) {
        out.push_back({std::string(spec.path), slot.json});
        continue;
      }
      std::string joined;
      for (const auto& v : slot.values) joined += (joined.empty() ? "" : ",") + v;
      out.push_back({std::string(spec.path), joined});
    }
    return out;
  }

 private:
  const std::vector<config::OptionSpecT<Config>>& table_;
  struct Slot {
    CLI::Option* option = nullptr;
    std::vector<std::string> values;
    std::string json;  // for a list of objects
  };
  // One slot per option; a deque keeps the addresses CLI11 holds stable.
  std::deque<Slot> flags_;
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
