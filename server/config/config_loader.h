#pragma once
// Builds a ServerConfig from the defaults, a JSON config file and command-line overrides (in that
// order; later wins), checking each value against its declaration in config_options.cpp.
// Checks that need the machine (addresses, ports, the model file) are in host_checks.h.

#include <string>
#include <string_view>
#include <vector>

#include "config/config_report.h"
#include "config/option_loader.h"
#include "config/server_config.h"

namespace tandem::config {

using LoadedConfig = LoadedConfigT<ServerConfig>;

// serve's table and its cross-checks, for the shared loader.
const OptionSchema<ServerConfig>& server_schema();

// The actions serve's monitoring.rules may name: log, webhook, unload_model, reduce_batch.
std::vector<std::string> serve_monitor_actions();

// The declared defaults (model.path empty).
ServerConfig default_config();

// `json_text` is the config file's contents ("" = no file); `source` names it in messages.
LoadedConfig load_config(std::string_view json_text, std::string_view source,
                         const std::vector<Override>& overrides = {});

// Reads the file at `path` and loads it; a missing or unreadable file is an error in the report.
LoadedConfig load_config_file(const std::string& path, const std::vector<Override>& overrides = {});

}  // namespace tandem::config
