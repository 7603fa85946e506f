#pragma once
// The one declaration of every `tandem serve` option: JSON path, CLI flag, default, unit, help and
// value check. The JSON loader, the CLI flags (`--network.port 9000`, `--port 9000`), the help text
// and the error messages are all derived from this table (config_options.cpp).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/server_config.h"
#include "core/result.h"

namespace tandem::config {

// Where an option's value lives; the member's type decides how a value is read and checked.
using FieldRef = std::variant<std::string ServerConfig::*, int64_t ServerConfig::*, double ServerConfig::*,
                              ByteSize ServerConfig::*, std::vector<std::string> ServerConfig::*>;

// A value after it has been read as its option's type.
using OptionValue = std::variant<std::string, int64_t, double, ByteSize, std::vector<std::string>>;

// Says what is wrong with a well-typed value and how to fix it; "" when it is fine.
using ValueCheck = std::string (*)(const OptionValue& value);

struct OptionSpec {
  std::string_view path;          // JSON path and long CLI flag: "network.port" -> --network.port
  std::string_view flag;          // short CLI flag without dashes ("port"), or ""
  FieldRef field;
  std::string_view default_json;  // the default, as JSON text
  std::string_view unit;          // "seconds", "bytes", "tokens", or ""
  std::string_view help;
  ValueCheck check = nullptr;
  bool required = false;
};

const std::vector<OptionSpec>& option_table();

// Finds an option by JSON path ("network.port") or short flag ("port"); nullptr when unknown.
const OptionSpec* find_option(std::string_view name);

// "integer", "number", "string", "size", "list of strings".
std::string_view type_name(const FieldRef& field);

// Reads a JSON value as the option's type; the error says what was expected and what came.
Result<OptionValue> read_value(const OptionSpec& spec, const nlohmann::json& value);

// Reads a command-line argument as the option's type (lists are comma-separated).
Result<OptionValue> read_text(const OptionSpec& spec, std::string_view text);

// Stores a value of the right type into the config.
void assign(const OptionSpec& spec, const OptionValue& value, ServerConfig& config);

// The default rendered as a user writes it ("8080", "\"127.0.0.1\"", "[]").
std::string default_text(const OptionSpec& spec);

// A reference of every option for --help: path, flag, type, default, unit and help.
std::string options_reference();

}  // namespace tandem::config
