#pragma once
// The option-table machinery that `tandem serve` and `tandem gateway` share. A command declares
// each of its options once, as one OptionSpecT<Config> row (JSON path, CLI flag, the member of its
// config struct, default, unit, help, value check); the JSON loader, the CLI flags, --help and the
// error messages all come from that row (option_loader.h). Serve's table is config_options.cpp,
// the gateway's gateway/config/gateway_options.cpp.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/byte_size.h"
#include "core/result.h"

namespace tandem::config {

// A JSON value kept as text, for options whose value is structured (a list of objects, like the
// gateway's links): the table reads and type-checks it as a list of objects, and the command's
// cross-check (OptionSchema::cross_check) validates its items, naming each field ("links[1].url").
struct JsonText {
  std::string text = "[]";
  bool operator==(const JsonText&) const = default;
};

// The value types an option may have, in the order of FieldRefT's alternatives.
enum class OptionKind { kString, kInteger, kNumber, kSize, kStringList, kObjectList, kBool };

// Where an option's value lives; the member's type decides how a value is read and checked.
template <typename Config>
using FieldRefT = std::variant<std::string Config::*, int64_t Config::*, double Config::*, ByteSize Config::*,
                               std::vector<std::string> Config::*, JsonText Config::*, bool Config::*>;

// A value after it has been read as its option's type.
using OptionValue = std::variant<std::string, int64_t, double, ByteSize, std::vector<std::string>, JsonText, bool>;

// Says what is wrong with a well-typed value and how to fix it; "" when it is fine.
using ValueCheck = std::string (*)(const OptionValue& value);

template <typename Config>
struct OptionSpecT {
  std::string_view path;          // JSON path and long CLI flag: "network.port" -> --network.port
  std::string_view flag;          // short CLI flag without dashes ("port"), or ""
  FieldRefT<Config> field;
  std::string_view default_json;  // the default, as JSON text
  std::string_view unit;          // "seconds", "bytes", "tokens", or ""
  std::string_view help;
  ValueCheck check = nullptr;
  bool required = false;

  OptionKind kind() const { return static_cast<OptionKind>(field.index()); }
};

// "a string", "an integer", "a number", "a size", "a list of strings", "a list of objects",
// "a boolean".
std::string_view type_name(OptionKind kind);

// Reads a JSON value as `kind`; the error says what was expected and what came.
Result<OptionValue> read_json_value(OptionKind kind, const nlohmann::json& value);

// Reads a command-line argument as `kind` (lists of strings are comma-separated, lists of
// objects are JSON text, booleans are true/false).
Result<OptionValue> read_text_value(OptionKind kind, std::string_view text);

// Stores a value of the right type into the config.
template <typename Config>
void assign(const OptionSpecT<Config>& spec, const OptionValue& value, Config& config) {
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(config.*member)>;
        config.*member = std::get<T>(value);
      },
      spec.field);
}

// Finds an option by JSON path ("network.port") or short flag ("port"); nullptr when unknown.
template <typename Config>
const OptionSpecT<Config>* find_option_in(const std::vector<OptionSpecT<Config>>& table, std::string_view name) {
  for (const auto& spec : table) {
    if (spec.path == name || (!spec.flag.empty() && spec.flag == name)) return &spec;
  }
  return nullptr;
}

// One line of --help for an option: its help, then "[type, unit, default ...]".
template <typename Config>
std::string describe_option(const OptionSpecT<Config>& spec) {
  std::string text(spec.help);
  text += " [" + std::string(type_name(spec.kind()));
  if (!spec.unit.empty()) text += ", " + std::string(spec.unit);
  text += spec.required ? ", required]" : ", default " + std::string(spec.default_json) + "]";
  return text;
}

// A reference of every option: path, flag, type, default, unit and help.
template <typename Config>
std::string options_reference_of(const std::vector<OptionSpecT<Config>>& table) {
  std::string out = "Options (JSON path in the config file = --path on the command line; the command line wins):\n";
  for (const auto& spec : table) {
    out += "  --" + std::string(spec.path);
    if (!spec.flag.empty()) out += ", --" + std::string(spec.flag);
    out += "  (" + std::string(type_name(spec.kind()));
    if (!spec.unit.empty()) out += ", " + std::string(spec.unit);
    out += spec.required ? ", required" : ", default " + std::string(spec.default_json);
    out += ")\n      " + std::string(spec.help) + "\n";
  }
  return out;
}

}  // namespace tandem::config
