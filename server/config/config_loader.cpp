#include "config/config_loader.h"

#include "config/config_options.h"
#include "monitor/monitor.h"

namespace tandem::config {
namespace {

// Rules between options, once every value is in.
void cross_check(ServerConfig& c, ConfigReport& report) {
  if (c.default_max_tokens > c.context_size) {
    report.error("server.default_max_tokens", std::to_string(c.default_max_tokens) +
                                                  " is more than model.context_size (" +
                                                  std::to_string(c.context_size) + "); lower it");
  }
  std::vector<monitor::RuleProblem> problems;
  c.monitoring_rules = monitor::parse_rules(c.monitoring_rules_json.text, "monitoring.rules", serve_monitor_actions(),
                                            problems);
  for (const auto& p : problems) report.error(p.field, p.message);
}

}  // namespace

std::vector<std::string> serve_monitor_actions() {
  std::vector<std::string> actions = monitor::builtin_actions();
  actions.insert(actions.end(), {"unload_model", "reduce_batch"});
  return actions;
}

const OptionSchema<ServerConfig>& server_schema() {
  static const OptionSchema<ServerConfig> schema{option_table(), &cross_check, R"({"model": {"path": "/models/m.gguf"}})"};
  return schema;
}

ServerConfig default_config() { return default_config_of(server_schema()); }

LoadedConfig load_config(std::string_view json_text, std::string_view source, const std::vector<Override>& overrides) {
  return load_options(server_schema(), json_text, source, overrides);
}

LoadedConfig load_config_file(const std::string& path, const std::vector<Override>& overrides) {
  return load_options_file(server_schema(), path, overrides);
}

}  // namespace tandem::config
