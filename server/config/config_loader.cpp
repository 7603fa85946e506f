#include "config/config_loader.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/config_options.h"
#include "config/edit_distance.h"

namespace tandem::config {
namespace {

using nlohmann::json;

bool is_section(std::string_view prefix) {
  for (const auto& spec : option_table()) {
    if (spec.path.size() > prefix.size() && spec.path.starts_with(prefix) && spec.path[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::vector<std::string> keys_of_section(std::string_view prefix) {
  std::vector<std::string> keys;
  for (const auto& spec : option_table()) {
    if (spec.path.starts_with(prefix) && spec.path.size() > prefix.size() && spec.path[prefix.size()] == '.') {
      keys.emplace_back(spec.path.substr(prefix.size() + 1));
    }
  }
  return keys;
}

std::vector<std::string> all_paths() {
  std::vector<std::string> paths;
  for (const auto& spec : option_table()) paths.emplace_back(spec.path);
  return paths;
}

// The flag a mistyped command-line name most likely meant: matched against paths, short flags and
// the last part of each path ("prot" -> port -> network.port).
std::string closest_flag(std::string_view name) {
  std::vector<std::string> names;
  std::vector<std::string> meaning;
  for (const auto& spec : option_table()) {
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

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

class Loader {
 public:
  explicit Loader(LoadedConfig& out) : out_(out) {}

  void apply(const OptionSpec& spec, Result<OptionValue> value, std::string_view where) {
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
  void walk(const json& object, const std::string& prefix) {
    for (const auto& [key, value] : object.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (const OptionSpec* spec = find_option(path); spec && spec->path == path) {
        apply(*spec, read_value(*spec, value), "");
      } else if (is_section(path)) {
        if (value.is_object()) {
          walk(value, path);
        } else {
          out_.report.error(path, "expected an object with the keys " + join(keys_of_section(path)));
        }
      } else if (value.is_object() && !value.empty()) {
        // An unknown section: report its leaves so each gets its own suggestion.
        walk(value, path);
      } else {
        std::string message = "unknown option, ignored";
        std::string guess = closest_match(path, all_paths());
        if (guess.empty() && !prefix.empty()) {
          std::string leaf_guess = closest_match(key, keys_of_section(prefix));
          if (!leaf_guess.empty()) guess = prefix + "." + leaf_guess;
        }
        if (!guess.empty()) message += "; did you mean " + guess + "?";
        out_.report.warning(path, message);
      }
    }
  }

  bool was_set(std::string_view path) const { return set_.count(std::string(path)) > 0; }

 private:
  LoadedConfig& out_;
  std::set<std::string> set_;
};

}  // namespace

ServerConfig default_config() {
  ServerConfig config;
  for (const auto& spec : option_table()) {
    auto value = read_value(spec, json::parse(spec.default_json));
    TANDEM_CHECK_MSG(value.ok(), "a declared default does not have its option's type");
    assign(spec, *value, config);
  }
  return config;
}

LoadedConfig load_config(std::string_view json_text, std::string_view source, const std::vector<Override>& overrides) {
  LoadedConfig out;
  out.config = default_config();
  Loader loader(out);
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
      out.report.error("", file + " must hold a JSON object like {\"network\": {\"port\": 8080}}");
    } else {
      loader.walk(document, "");
    }
  }

  for (const auto& o : overrides) {
    const OptionSpec* spec = find_option(o.name);
    if (!spec) {
      std::string guess = closest_flag(o.name);
      out.report.error("--" + o.name, "unknown option" + (guess.empty() ? "" : "; did you mean --" + guess + "?"));
      continue;
    }
    loader.apply(*spec, read_text(*spec, o.text), " (from --" + o.name + ")");
  }

  for (const auto& spec : option_table()) {
    if (spec.required && !loader.was_set(spec.path)) {
      out.report.error(std::string(spec.path), "is required; set it in the config file or with --" +
                                                   std::string(spec.path) + " VALUE");
    }
  }
  const ServerConfig& c = out.config;
  if (c.default_max_tokens > c.context_size) {
    out.report.error("server.default_max_tokens", std::to_string(c.default_max_tokens) +
                                                      " is more than model.context_size (" +
                                                      std::to_string(c.context_size) + "); lower it");
  }
  return out;
}

LoadedConfig load_config_file(const std::string& path, const std::vector<Override>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadedConfig out = load_config("", path, overrides);
    out.report.problems.insert(out.report.problems.begin(),
                               Problem{Severity::kError, "", "cannot read config file " + path +
                                                                 "; check the path and its permissions"});
    return out;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    LoadedConfig out = load_config("", path, overrides);
    out.report.error("", path + " is empty; write a JSON object like {\"model\": {\"path\": \"/models/m.gguf\"}}");
    return out;
  }
  return load_config(text, path, overrides);
}

}  // namespace tandem::config
