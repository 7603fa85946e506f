#include <gtest/gtest.h>

#include "monitor/rule_engine.h"
#include "monitor/rules.h"

namespace tandem::monitor {
namespace {

const std::vector<std::string> kActions = {"log", "webhook", "unload_model", "reduce_batch"};

std::vector<Rule> parse_ok(const std::string& text) {
  std::vector<RuleProblem> problems;
  auto rules = parse_rules(text, "monitoring.rules", kActions, problems);
  for (const auto& p : problems) ADD_FAILURE() << p.field << ": " << p.message;
  return rules;
}

std::vector<RuleProblem> problems_of(const std::string& text) {
  std::vector<RuleProblem> problems;
  parse_rules(text, "monitoring.rules", kActions, problems);
  return problems;
}

TEST(ParseRules, ReadsEveryField) {
  const auto rules = parse_ok(R"([
    {"name": "memory_high", "metric": "memory_used_ratio", "above": 0.85, "for_seconds": 60, "action": "unload_model"},
    {"name": "cold", "metric": "tandem_temperature_celsius", "below": 5, "action": "webhook",
     "url": "http://127.0.0.1:9/x", "cooldown_seconds": 10, "labels": {"sensor": "thermal/acpitz"}}])");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "memory_high");
  EXPECT_EQ(rules[0].comparison, Comparison::kAbove);
  EXPECT_DOUBLE_EQ(rules[0].threshold, 0.85);
  EXPECT_DOUBLE_EQ(rules[0].for_seconds, 60);
  EXPECT_DOUBLE_EQ(rules[0].cooldown_seconds, 60);  // the default
  EXPECT_EQ(rules[1].metric, "temperature_celsius");  // the Prometheus prefix is dropped
  EXPECT_EQ(rules[1].comparison, Comparison::kBelow);
  EXPECT_EQ(rules[1].url, "http://127.0.0.1:9/x");
  EXPECT_EQ(rules[1].labels, (Labels{{"sensor", "thermal/acpitz"}}));
  // What rules_json writes, parse_rules reads back the same.
  const auto again = parse_ok(rules_json(rules));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].labels, rules[1].labels);
  EXPECT_DOUBLE_EQ(again[1].cooldown_seconds, 10);
}

TEST(ParseRules, EveryProblemNamesItsField) {
  const auto problems = problems_of(R"([
    {"name": "a", "metric": "m", "above": 1, "below": 2},
    {"name": "a", "metric": "m", "above": "1"},
    {"metric": "m", "above": 1, "action": "switch_link"},
    {"name": "w", "metric": "m", "above": 1, "action": "webhook"},
    {"name": "x", "metric": "m", "above": 1, "for_seconds": -1, "colour": "red"},
    7])");
  auto has = [&](const std::string& field, const std::string& text) {
    for (const auto& p : problems) {
      if (p.field == field && p.message.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("monitoring.rules[0]", "exactly one of \"above\" and \"below\""));
  EXPECT_TRUE(has("monitoring.rules[1].above", "expected a number"));
  EXPECT_TRUE(has("monitoring.rules[1].name", "duplicate name"));
  EXPECT_TRUE(has("monitoring.rules[2].name", "needs a name"));
  EXPECT_TRUE(has("monitoring.rules[2].action", "use one of log, webhook, unload_model, reduce_batch"));
  EXPECT_TRUE(has("monitoring.rules[3].url", "needs a url"));
  EXPECT_TRUE(has("monitoring.rules[4].for_seconds", "out of range"));
  EXPECT_TRUE(has("monitoring.rules[4].colour", "unknown key"));
  EXPECT_TRUE(has("monitoring.rules[5]", "expected an object"));
  EXPECT_TRUE(has("monitoring.rules", "expected a list") == false);
  EXPECT_FALSE(problems_of("{}").empty());
  EXPECT_FALSE(problems_of("not json").empty());
  EXPECT_TRUE(problems_of("[]").empty());
}

Rule rule(double for_seconds, double cooldown = 300, Comparison c = Comparison::kAbove) {
  Rule r;
  r.name = "hot";
  r.metric = "temperature_celsius";
  r.comparison = c;
  r.threshold = 75;
  r.for_seconds = for_seconds;
  r.cooldown_seconds = cooldown;
  return r;
}

struct Feed {
  std::optional<double> value;
  std::optional<RuleValue> operator()(const Rule&) const {
    if (!value) return std::nullopt;
    return RuleValue{*value, {}};
  }
};

TEST(RuleEngine, FiresOnlyAfterHoldingForTheDurationAndResolves) {
  RuleEngine engine({rule(30)});
  Feed feed{80.0};
  EXPECT_TRUE(engine.step(0, feed).empty());  // pending
  EXPECT_TRUE(engine.step(29, feed).empty());
  auto t = engine.step(30, feed);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].firing);
  EXPECT_TRUE(t[0].run_action);
  EXPECT_DOUBLE_EQ(t[0].value.value, 80);
  EXPECT_TRUE(engine.firing(0));
  EXPECT_TRUE(engine.step(31, feed).empty()) << "firing once, not every second";
  feed.value = 70;
  t = engine.step(32, feed);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_FALSE(t[0].firing);
  EXPECT_FALSE(engine.firing(0));
}

TEST(RuleEngine, ADipBelowTheThresholdRestartsTheWait) {
  RuleEngine engine({rule(30)});
  Feed feed{80.0};
  engine.step(0, feed);
  feed.value = 75;  // not above 75
  EXPECT_TRUE(engine.step(20, feed).empty());
  feed.value = 80;
  EXPECT_TRUE(engine.step(21, feed).empty());
  EXPECT_TRUE(engine.step(50, feed).empty());
  EXPECT_EQ(engine.step(51, feed).size(), 1u);
}

TEST(RuleEngine, AbsentMetricNeverFiresAndResolvesAFiringRule) {
  RuleEngine engine({rule(0)});
  Feed feed{};
  EXPECT_TRUE(engine.step(0, feed).empty());
  EXPECT_FALSE(engine.last_value(0));
  feed.value = 90;
  EXPECT_EQ(engine.step(1, feed).size(), 1u);
  feed.value.reset();
  const auto t = engine.step(2, feed);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_FALSE(t[0].firing);
  EXPECT_DOUBLE_EQ(t[0].value.value, 90) << "the last value seen";
}

TEST(RuleEngine, CooldownSuppressesTheActionButNotTheAlert) {
  RuleEngine engine({rule(0, 100)});
  Feed hot{90.0}, cool{60.0};
  auto t = engine.step(0, hot);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].run_action);
  engine.step(1, cool);
  t = engine.step(50, hot);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].firing);
  EXPECT_FALSE(t[0].run_action) << "50 s after the last action, cooldown 100 s";
  engine.step(51, cool);
  t = engine.step(101, hot);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(t[0].run_action);
}

TEST(RuleEngine, AResolutionNamesTheSeriesThatFiredNotTheWorstNow) {
  RuleEngine engine({rule(0)});
  const auto feed = [](double value, const char* link) {
    return [=](const Rule&) { return std::optional<RuleValue>(RuleValue{value, {{"link", link}}}); };
  };
  auto t = engine.step(0, feed(90, "primary"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].value.labels, (Labels{{"link", "primary"}}));
  EXPECT_TRUE(engine.step(1, feed(95, "backup")).empty()) << "still firing; the worst series changed";
  t = engine.step(2, feed(10, "backup"));  // both links within the threshold, backup the slower of the two
  ASSERT_EQ(t.size(), 1u);
  EXPECT_FALSE(t[0].firing);
  EXPECT_EQ(t[0].value.labels, (Labels{{"link", "primary"}}));
}

TEST(RuleEngine, BelowRules) {
  RuleEngine engine({rule(0, 0, Comparison::kBelow)});
  EXPECT_TRUE(engine.step(0, Feed{80.0}).empty());
  EXPECT_EQ(engine.step(1, Feed{10.0}).size(), 1u);
}

TEST(WorstReading, HighestForAboveLowestForBelowAndLabelsFilter) {
  const Readings readings = {{"temperature_celsius", {{"sensor", "a"}}, 50},
                             {"temperature_celsius", {{"sensor", "b"}}, 80},
                             {"temperature_celsius", {{"sensor", "c"}}, 40},
                             {"power_watts", {{"source", "x"}}, 99}};
  Rule above = rule(0);
  EXPECT_EQ(worst_reading(above, readings)->labels, (Labels{{"sensor", "b"}}));
  Rule below = rule(0, 0, Comparison::kBelow);
  EXPECT_DOUBLE_EQ(worst_reading(below, readings)->value, 40);
  above.labels = {{"sensor", "a"}};
  EXPECT_DOUBLE_EQ(worst_reading(above, readings)->value, 50);
  above.labels = {{"sensor", "zzz"}};
  EXPECT_FALSE(worst_reading(above, readings));
}

}  // namespace
}  // namespace tandem::monitor
