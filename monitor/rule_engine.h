#pragma once
// The rules' state machine, a pure function of the values it is fed and the time: a rule whose
// condition holds becomes pending, then firing once it has held for for_seconds; it resolves when
// the condition stops holding (or its metric is absent). A firing rule's action runs unless the
// rule's previous action ran less than cooldown_seconds ago. No threads, no clock: tests drive it.

#include <functional>
#include <optional>
#include <vector>

#include "monitor/rules.h"

namespace tandem::monitor {

struct RuleValue {
  double value = 0;
  Labels labels;  // of the worst series
};

struct Transition {
  size_t rule = 0;      // index into the engine's rules
  bool firing = false;  // true: started firing; false: resolved
  // Firing: the worst series now. Resolved: the series the alert fired on (its labels), with the rule's
  // value now, or the last value seen for a resolution by absence; every matching series is within the
  // threshold by then, so the caller may look up that series' own reading.
  RuleValue value;
  bool run_action = false;  // firing and not in cooldown
};

class RuleEngine {
 public:
  explicit RuleEngine(std::vector<Rule> rules);

  // `value_of` gives a rule's current value, or nullopt when its metric is absent.
  std::vector<Transition> step(double now, const std::function<std::optional<RuleValue>(const Rule&)>& value_of);

  const std::vector<Rule>& rules() const { return rules_; }
  bool firing(size_t rule) const { return states_[rule].firing; }
  // The last value seen for a rule (nullopt: never, or absent now).
  const std::optional<RuleValue>& last_value(size_t rule) const { return states_[rule].last; }

 private:
  struct State {
    bool pending = false;
    double since = 0;
    bool firing = false;
    std::optional<double> last_action;
    std::optional<RuleValue> last;
    Labels fired_labels;  // of the worst series when the rule started firing
  };
  std::vector<Rule> rules_;
  std::vector<State> states_;
};

// Whether `value` breaks the rule's threshold.
bool breaks(const Rule& rule, double value);

// The worst of a metric's readings for a rule: the highest for "above", the lowest for "below",
// among those with the rule's labels; nullopt when none.
std::optional<RuleValue> worst_reading(const Rule& rule, const Readings& readings);

}  // namespace tandem::monitor
