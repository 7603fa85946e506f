#pragma once
// Builds a command's config from its option table: the declared defaults, then a JSON config file,
// then command-line overrides (later wins). Every problem is collected in a ConfigReport, each
// naming the field and the fix: type errors, values their check refuses, unknown keys (with a
// "did you mean"), missing required options and the command's own cross-checks.

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_report.h"
#include "config/edit_distance.h"
#include "config/option_table.h"

namespace tandem::config {

// A command-line value for an option, by JSON path or short flag ("network.port" or "port").
struct Override {
  std::string name;
  std::string text;
};

template <typename Config>
struct LoadedConfigT {
  Config config;
  ConfigReport report;
};

template <typename Config>
struct OptionSchema {
  const std::vector<OptionSpecT<Config>>& table;
  // Rules between options (or inside structured ones), run once every value is in; may fill
  // derived members of the config.
  void (*cross_check)(Config& config, ConfigReport& report) = nullptr;
  // A small valid file, quoted when the file is empty.
  std::string_view example = R"({"network": {"port": 8080}})";
  // serve warns about an unknown key and goes on; the gateway refuses it, as its issue asks.
  bool unknown_keys_are_errors = false;
};

namespace detail {

std::string join_names(const std::vector<std::string>& items);

template <typename Config>
class OptionLoader {
 public:
  OptionLoader(const OptionSchema<Config>& schema, LoadedConfigT<Config>& out) : schema_(schema), out_(out) {}

  void apply(const OptionSpecT<Config>& spec, Result<OptionValue> value, std::string_view where) {
    const std::string field(spec.path);
    if (!value) {
      out_.report.error(field, value.error() + std::string(where));
      return;
    }
    if (spec.check) {
      std::string problem = spec.check(*value);
      if (!problem.empty()) {
        out_.report.error(field, problem + std::string(where));
        return;
      }
    }
    assign(spec, *value, out_.config);
    set_.insert(field);
  }

  // Walks one object of the file; `prefix` is its dotted path ("" at the top).
  void walk(const nlohmann::json& object, const std::string& prefix) {
    for (const auto& [key, value] : object.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (const auto* spec = find_option_in(schema_.table, path); spec && spec->path == path) {
        apply(*spec, read_json_value(spec->kind(), value), "");
      } else if (is_section(path)) {
        if (value.is_object()) {
          walk(value, path);
        } else {
          out_.report.error(path, "expected an object with the keys " + join_names(keys_of_section(path)));
        }
      } else if (value.is_object() && !value.empty()) {
        // An unknown section: report its leaves so each gets its own suggestion.
        walk(value, path);
      } else {
        std::string message = schema_.unknown_keys_are_errors ? "unknown option" : "unknown option, ignored";
        std::string guess = closest_match(path, all_paths());
        if (guess.empty() && !prefix.empty()) {
          std::string leaf_guess = closest_match(key, keys_of_section(prefix));
          if (!leaf_guess.empty()) guess = prefix + "." + leaf_guess;
        }
        if (!guess.empty()) message += "; did you mean " + guess + "?";
        if (schema_.unknown_keys_are_errors) {
          out_.report.error(path, message);
        } else {
          out_.report.warning(path, message);
        }
      }
    }
  }

  void override_with(const Override& o) {
    const auto* spec = find_option_in(schema_.table, o.name);
    if (!spec) {
      std::string guess = closest_flag(o.name);
      out_.report.error("--" + o.name, "unknown option" + (guess.empty() ? "" : "; did you mean --" + guess + "?"));
      return;
    }
    apply(*spec, read_text_value(spec->kind(), o.text), " (from --" + o.name + ")");
  }

  bool was_set(std::string_view path) const { return set_.count(std::string(path)) > 0; }

 private:
  bool is_section(std::string_view prefix) const {
    for (const auto& spec : schema_.table) {
      if (spec.path.size() > prefix.size() && spec.path.starts_with(prefix) && spec.path[prefix.size()] == '.') {
        return true;
      }
    }
    return false;
  }

  std::vector<std::string> keys_of_section(std::string_view prefix) const {
    std::vector<std::string> keys;
    for (const auto& spec : schema_.table) {
      if (spec.path.starts_with(prefix) && spec.path.size() > prefix.size() && spec.path[prefix.size()] == '.') {
        keys.emplace_back(spec.path.substr(prefix.size() + 1));
      }
    }
    return keys;
  }

  std::vector<std::string> all_paths() const {
    std::vector<std::string> paths;
    for (const auto& spec : schema_.table) paths.emplace_back(spec.path);
    return paths;
  }

  // The flag a mistyped command-line name most likely meant: matched against paths, short flags
  // and the last part of each path ("prot" -> port -> network.port).
  std::string closest_flag(std::string_view name) const {
    std::vector<std::string> names;
    std::vector<std::string> meaning;
    for (const auto& spec : schema_.table) {
      names.emplace_back(spec.path);
      meaning.emplace_back(spec.path);
      if (!spec.flag.empty()) {
        names.emplace_back(spec.flag);
        meaning.emplace_back(spec.flag);
      }
      names.emplace_back(spec.path.substr(spec.path.rfind('.') + 1));
      meaning.emplace_back(spec.path);
    }
    const std::string guess = closest_match(name, names);
    if (guess.empty()) return guess;
    return meaning[static_cast<size_t>(std::find(names.begin(), names.end(), guess) - names.begin())];
  }

  const OptionSchema<Config>& schema_;
  LoadedConfigT<Config>& out_;
  std::set<std::string> set_;
};

}  // namespace detail

// The declared defaults.
template <typename Config>
Config default_config_of(const OptionSchema<Config>& schema) {
  Config config;
  for (const auto& spec : schema.table) {
    auto value = read_json_value(spec.kind(), nlohmann::json::parse(spec.default_json));
    TANDEM_CHECK_MSG(value.ok(), "a declared default does not have its option's type");
    assign(spec, *value, config);
  }
  return config;
}

// `json_text` is the config file's contents ("" = no file); `source` names it in messages.
template <typename Config>
LoadedConfigT<Config> load_options(const OptionSchema<Config>& schema, std::string_view json_text,
                                   std::string_view source, const std::vector<Override>& overrides) {
  using nlohmann::json;
  LoadedConfigT<Config> out;
  out.config = default_config_of(schema);
  detail::OptionLoader<Config> loader(schema, out);
  const std::string file(source);

  if (!json_text.empty()) {
    json document;
    std::string syntax_error;
    try {
      document = json::parse(json_text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
      syntax_error = " (at byte " + std::to_string(e.byte) + ")";
    }
    if (!syntax_error.empty()) {
      out.report.error("", file + " is not valid JSON" + syntax_error + "; check for a missing comma, quote or brace");
    } else if (!document.is_object()) {
      out.report.error("", file + " must hold a JSON object like " + std::string(schema.example));
    } else {
      loader.walk(document, "");
    }
  }

  for (const auto& o : overrides) loader.override_with(o);

  for (const auto& spec : schema.table) {
    if (spec.required && !loader.was_set(spec.path)) {
      out.report.error(std::string(spec.path), "is required; set it in the config file or with --" +
                                                   std::string(spec.path) + " VALUE");
    }
  }
  if (schema.cross_check) schema.cross_check(out.config, out.report);
  return out;
}

// Reads the file at `path` and loads it; a missing, unreadable or empty file is an error in the report.
template <typename Config>
LoadedConfigT<Config> load_options_file(const OptionSchema<Config>& schema, const std::string& path,
                                        const std::vector<Override>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadedConfigT<Config> out = load_options(schema, "", path, overrides);
    out.report.problems.insert(out.report.problems.begin(),
                               Problem{Severity::kError, "", "cannot read config file " + path +
                                                                 "; check the path and its permissions"});
    return out;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    LoadedConfigT<Config> out = load_options(schema, "", path, overrides);
    out.report.error("", path + " is empty; write a JSON object like " + std::string(schema.example));
    return out;
  }
  return load_options(schema, text, path, overrides);
}

}  // namespace tandem::config
