#include "monitor/rule_engine.h"

#include <algorithm>

namespace tandem::monitor {

bool breaks(const Rule& rule, double value) {
  return rule.comparison == Comparison::kAbove ? value > rule.threshold : value < rule.threshold;
}

std::optional<RuleValue> worst_reading(const Rule& rule, const Readings& readings) {
  std::optional<RuleValue> worst;
  for (const auto& r : readings) {
    if (r.name != rule.metric) continue;
    const bool matches = std::all_of(rule.labels.begin(), rule.labels.end(), [&](const auto& want) {
      return std::find(r.labels.begin(), r.labels.end(), want) != r.labels.end();
    });
    if (!matches) continue;
    const bool worse = !worst || (rule.comparison == Comparison::kAbove ? r.value > worst->value : r.value < worst->value);
    if (worse) worst = RuleValue{r.value, r.labels};
  }
  return worst;
}

RuleEngine::RuleEngine(std::vector<Rule> rules) : rules_(std::move(rules)), states_(rules_.size()) {}

std::vector<Transition> RuleEngine::step(double now,
                                         const std::function<std::optional<RuleValue>(const Rule&)>& value_of) {
  std::vector<Transition> out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    State& s = states_[i];
    const std::optional<RuleValue> v = value_of(rule);
    const bool holds = v && breaks(rule, v->value);
    if (v) s.last = v;
    if (!holds) {
      // The resolution names the series that fired, not whichever is worst now: "link primary is
      // fast again" even when the other link's (fast) round trip happens to be the longer one.
      if (s.firing) out.push_back({i, false, RuleValue{s.last ? s.last->value : 0.0, s.fired_labels}, false});
      s.pending = false;
      s.firing = false;
      if (!v) s.last.reset();
      continue;
    }
    if (!s.pending) {
      s.pending = true;
      s.since = now;
    }
    if (!s.firing && now - s.since >= rule.for_seconds) {
      s.firing = true;
      s.fired_labels = v->labels;
      const bool cooled = !s.last_action || now - *s.last_action >= rule.cooldown_seconds;
      if (cooled) s.last_action = now;
      out.push_back({i, true, *v, cooled});
    }
  }
  return out;
}

}  // namespace tandem::monitor
