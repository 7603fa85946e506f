#include "monitor/rules.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace tandem::monitor {
namespace {

using nlohmann::json;

constexpr const char* kKeys[] = {"name", "metric", "above", "below", "for_seconds", "action", "cooldown_seconds",
                                 "url", "labels"};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

bool is_http_url(const std::string& url) {
  if (url.rfind("http://", 0) != 0 || url.size() <= 7) return false;
  return url.find_first_of(" \t\r\n") == std::string::npos;
}

}  // namespace

std::vector<Rule> parse_rules(const std::string& json_text, const std::string& field,
                              const std::vector<std::string>& actions, std::vector<RuleProblem>& problems) {
  std::vector<Rule> out;
  const json list = json::parse(json_text, nullptr, false);
  if (!list.is_array()) {
    problems.push_back({field, "expected a list of rules like [{\"name\": \"memory_high\", \"metric\": "
                               "\"memory_used_ratio\", \"above\": 0.85, \"for_seconds\": 60, \"action\": "
                               "\"unload_model\"}]"});
    return out;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    const std::string at = field + "[" + std::to_string(i) + "]";
    auto problem = [&](const std::string& key, std::string message) {
      problems.push_back({key.empty() ? at : at + "." + key, std::move(message)});
    };
    if (!item.is_object()) {
      problem("", "expected an object with name, metric, above or below, for_seconds and action");
      continue;
    }
    const size_t before = problems.size();
    Rule rule;
    for (const auto& [key, value] : item.items()) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
        problem(key, "unknown key; a rule has name, metric, above or below, for_seconds, action, cooldown_seconds, "
                     "url and labels");
        continue;
      }
      if (key == "name" || key == "metric" || key == "action" || key == "url") {
        if (!value.is_string()) {
          problem(key, "expected a string, got " + value.dump());
          continue;
        }
        const std::string text = value.get<std::string>();
        if (key == "name") rule.name = text;
        if (key == "metric") rule.metric = text.rfind("tandem_", 0) == 0 ? text.substr(7) : text;
        if (key == "action") rule.action = text;
        if (key == "url") rule.url = text;
      } else if (key == "labels") {
        if (!value.is_object()) {
          problem(key, "expected an object of label values, like {\"sensor\": \"thermal/x86_pkg_temp\"}");
          continue;
        }
        for (const auto& [label, v] : value.items()) {
          if (!v.is_string()) {
            problem(key + "." + label, "expected a string, got " + v.dump());
            continue;
          }
          rule.labels.emplace_back(label, v.get<std::string>());
        }
      } else {
        if (!value.is_number()) {
          problem(key, "expected a number, got " + value.dump());
          continue;
        }
        const double v = value.get<double>();
        if (key == "above" || key == "below") {
          rule.comparison = key == "above" ? Comparison::kAbove : Comparison::kBelow;
          rule.threshold = v;
        } else if (v < 0 || v > 86400) {
          problem(key, std::to_string(v) + " is out of range; use 0 to 86400 seconds");
        } else if (key == "for_seconds") {
          rule.for_seconds = v;
        } else {
          rule.cooldown_seconds = v;
        }
      }
    }
    if (rule.name.empty()) {
      problem("name", "a rule needs a name (like \"memory_high\"): it labels tandem_alert_firing and /api/alerts");
    } else if (!names.insert(rule.name).second) {
      problem("name", "duplicate name \"" + rule.name + "\"; every rule needs its own");
    } else if (rule.name.find_first_of(" \"\\\n") != std::string::npos || rule.name.size() > 64) {
      problem("name", "\"" + rule.name + "\" is not a usable name; use up to 64 characters without spaces or quotes");
    }
    if (rule.metric.empty()) problem("metric", "a rule needs a metric, like \"memory_used_ratio\"");
    if (item.contains("above") == item.contains("below")) {
      problem("", "give exactly one of \"above\" and \"below\": the threshold and which side of it fires");
    }
    if (std::find(actions.begin(), actions.end(), rule.action) == actions.end()) {
      problem("action", "\"" + rule.action + "\" is not an action here; use one of " + join(actions));
    }
    if (rule.action == "webhook" && !is_http_url(rule.url)) {
      problem("url", "a webhook rule needs a url like \"http://127.0.0.1:9000/alerts\" (http only)");
    }
    if (problems.size() == before) out.push_back(std::move(rule));
  }
  return out;
}

std::string rules_json(const std::vector<Rule>& rules) {
  json list = json::array();
  for (const auto& r : rules) {
    json item = {{"name", r.name},
                 {"metric", r.metric},
                 {r.comparison == Comparison::kAbove ? "above" : "below", r.threshold},
                 {"for_seconds", r.for_seconds},
                 {"action", r.action},
                 {"cooldown_seconds", r.cooldown_seconds}};
    if (!r.url.empty()) item["url"] = r.url;
    if (!r.labels.empty()) {
      json labels = json::object();
      for (const auto& [k, v] : r.labels) labels[k] = v;
      item["labels"] = labels;
    }
    list.push_back(item);
  }
  return list.dump();
}

}  // namespace tandem::monitor
