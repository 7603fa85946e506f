#pragma once
// The one declaration of every `tandem serve` option: JSON path, CLI flag, default, unit, help and
// value check. The JSON loader, the CLI flags (`--network.port 9000`, `--port 9000`), the help text
// and the error messages are all derived from this table (config_options.cpp), through the
// option-table machinery that the gateway shares (option_table.h, option_loader.h).

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/option_table.h"
#include "config/server_config.h"
#include "core/result.h"

namespace tandem::config {

using FieldRef = FieldRefT<ServerConfig>;
using OptionSpec = OptionSpecT<ServerConfig>;

const std::vector<OptionSpec>& option_table();

// Finds an option by JSON path ("network.port") or short flag ("port"); nullptr when unknown.
const OptionSpec* find_option(std::string_view name);

// "an integer", "a number", "a string", "a size", "a list of strings".
std::string_view type_name(const FieldRef& field);

// Reads a JSON value as the option's type; the error says what was expected and what came.
Result<OptionValue> read_value(const OptionSpec& spec, const nlohmann::json& value);

// Reads a command-line argument as the option's type (lists are comma-separated).
Result<OptionValue> read_text(const OptionSpec& spec, std::string_view text);

// The default rendered as a user writes it ("8080", "\"127.0.0.1\"", "[]").
std::string default_text(const OptionSpec& spec);

// A reference of every option for --help: path, flag, type, default, unit and help.
std::string options_reference();

}  // namespace tandem::config
