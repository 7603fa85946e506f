#pragma once
// Alert rules are data: {"name", "metric", "above" | "below", "for_seconds", "action",
// "cooldown_seconds", "url" (webhook), "labels" (match only series with these labels)}, read from
// the config's monitoring.rules. Where a metric has several series (a temperature per sensor), the
// rule looks at the worst one: the highest for "above", the lowest for "below".

#include <string>
#include <vector>

#include "monitor/reading.h"

namespace tandem::monitor {

enum class Comparison { kAbove, kBelow };

struct Rule {
  std::string name;
  std::string metric;  // a /api/stats name; a "tandem_" prefix is accepted and dropped
  Comparison comparison = Comparison::kAbove;
  double threshold = 0;
  double for_seconds = 0;        // how long the condition must hold before the rule fires
  std::string action = "log";    // a named action of the command: log, webhook, unload_model, ...
  double cooldown_seconds = 60;   // least time between two runs of this rule's action
  std::string url;               // webhook target: http://host:port/path
  Labels labels;                 // only series carrying all of these
};

struct RuleProblem {
  std::string field;  // "monitoring.rules[1].above"
  std::string message;
};

// Reads a rules list (JSON text). `actions` are the actions this command has; a rule naming
// another is a problem that lists them. Every problem names its field and the fix; rules with
// problems are left out of the result.
std::vector<Rule> parse_rules(const std::string& json_text, const std::string& field,
                              const std::vector<std::string>& actions, std::vector<RuleProblem>& problems);

// The rules as JSON text, the form parse_rules reads (for /api/alerts and --help).
std::string rules_json(const std::vector<Rule>& rules);

}  // namespace tandem::monitor
