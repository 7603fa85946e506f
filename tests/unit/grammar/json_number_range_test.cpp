// Bounded numbers and integers: every string the grammar accepts must validate against the bounds,
// and every number the documented form allows must be accepted. Each case compares the grammar with
// a direct check, over every decimal of up to 3 fraction digits near each bound and near zero, and
// over random strings that run deep into a bound's digits.

#include "grammar/json_number_range.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "grammar_test_util.h"

namespace tandem::grammar {
namespace {

using json = nlohmann::ordered_json;

struct Bounds {
  json schema;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;

  explicit Bounds(json s) : schema(std::move(s)) {
    auto read = [&](const char* key, std::optional<double>& out) {
      if (schema.contains(key)) out = schema[key].get<double>();
    };
    read("minimum", minimum);
    read("maximum", maximum);
    read("exclusiveMinimum", exclusive_minimum);
    read("exclusiveMaximum", exclusive_maximum);
  }

  // As a validator does it: both sides read as doubles.
  bool within(double v) const {
    return (!minimum || v >= *minimum) && (!maximum || v <= *maximum) && (!exclusive_minimum || v > *exclusive_minimum) &&
           (!exclusive_maximum || v < *exclusive_maximum);
  }

  std::vector<double> values() const {
    std::vector<double> out;
    for (const auto& b : {minimum, maximum, exclusive_minimum, exclusive_maximum}) {
      if (b) out.push_back(*b);
    }
    return out;
  }
};

// The documented form: -?(0|[1-9]\d*)(\.\d+)?, at most 16 integer digits, a fraction only for
// numbers, with at most 15 significant digits in all ("0." counts none), never "-0"; and within.
bool expected(const std::string& text, const Bounds& bounds, bool integer) {
  static const std::regex kSyntax(R"(-?(0|[1-9][0-9]*)(\.([0-9]+))?)");
  std::smatch m;
  if (!std::regex_match(text, m, kSyntax)) return false;
  const std::string integer_part = m[1];
  const std::string fraction = m[3];
  if (integer_part.size() > 16) return false;
  if (integer && m[2].matched) return false;
  if (m[2].matched) {
    const size_t used = integer_part == "0" ? 0 : integer_part.size();
    if (used + fraction.size() > 15) return false;
  }
  const double v = std::strtod(text.c_str(), nullptr);
  if (text[0] == '-' && v == 0) return false;
  return bounds.within(v);
}

class Checker {
 public:
  Checker(json schema, bool integer) : bounds_(std::move(schema)), integer_(integer) {
    json s = bounds_.schema;
    s["type"] = integer ? "integer" : "number";
    // None when the bounds leave nothing: then nothing near them may be expected either.
    if (auto g = json_schema_grammar(s)) grammar_ = std::move(g).value();
  }

  bool compiled() const { return grammar_ != nullptr; }

  bool accepts(const std::string& text) const {
    if (!grammar_) return false;
    GrammarMatcher m(grammar_, trie());
    return m.accept_bytes(text) && m.is_complete();
  }

  // Expects the grammar and the direct check to agree on text; counts what was accepted.
  void check(const std::string& text) {
    const bool want = expected(text, bounds_, integer_);
    const bool got = accepts(text);
    if (got) ++accepted_;
    if (want != got && ++failures_ <= 20) {
      ADD_FAILURE() << bounds_.schema.dump() << (integer_ ? " integer " : " number ") << '"' << text << "\" "
                    << (got ? "accepted but should not be" : "refused but should be accepted");
    }
  }

  // Every decimal with up to 3 fraction digits (trailing zeros included) whose integer part is
  // within 2 of a bound's or of zero, both signs.
  void enumerate_near_bounds() {
    std::set<int64_t> magnitudes = {0, 1, 2};
    for (double b : bounds_.values()) {
      if (std::fabs(b) > 1e15) continue;
      const auto m = static_cast<int64_t>(std::fabs(std::trunc(b)));
      for (int64_t d = -2; d <= 2; ++d) {
        if (m + d >= 0) magnitudes.insert(m + d);
      }
    }
    std::vector<std::string> fractions = {""};
    for (int digits = 1, count = 10; digits <= 3; ++digits, count *= 10) {
      for (int f = 0; f < count; ++f) {
        const std::string text = std::to_string(count + f);  // "1" and then the digits, zero-padded
        fractions.push_back(text);
        fractions.back()[0] = '.';
      }
    }
    for (int64_t m : magnitudes) {
      for (const char* sign : {"", "-"}) {
        for (const std::string& fraction : fractions) check(sign + std::to_string(m) + fraction);
      }
    }
  }

  // Random strings: mostly well-formed numbers whose digits follow a bound's for a while, then
  // anything; some malformed (leading zeros, exponents, a bare point), some far away.
  void sample(int n, uint32_t seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int below) { return static_cast<int>(rng() % static_cast<uint32_t>(below)); };
    auto digits = [&](int count) {
      std::string out;
      for (int i = 0; i < count; ++i) out += static_cast<char>('0' + pick(10));
      return out;
    };
    std::vector<std::string> anchors = {"0", "1"};
    for (double b : bounds_.values()) anchors.push_back(json(std::fabs(b)).dump());
    for (int i = 0; i < n; ++i) {
      std::string text = pick(2) ? "-" : "";
      const int shape = pick(10);
      if (shape < 6) {  // a bound's digits, cut somewhere, then random digits
        std::string anchor = anchors[static_cast<size_t>(pick(static_cast<int>(anchors.size())))];
        if (anchor.find('.') == std::string::npos) anchor += ".";
        anchor = anchor.substr(0, static_cast<size_t>(pick(static_cast<int>(anchor.size()) + 1)));
        if (anchor.empty()) anchor = "0";
        if (anchor.back() == '.' && pick(3) == 0) {
          anchor.pop_back();
        } else if (anchor.find('.') == std::string::npos && pick(2)) {
          anchor += ".";
        }
        text += anchor;
        if (text.back() == '.' || (text.find('.') != std::string::npos && pick(2))) text += digits(pick(18));
        if (!text.empty() && text.back() == '.' && pick(4)) text += digits(1);
      } else if (shape < 8) {  // anything from 1 to 17 integer digits
        text += std::to_string(1 + pick(9)) + digits(pick(17));
        if (pick(2)) text += "." + digits(1 + pick(16));
      } else if (shape < 9) {
        text += "0" + digits(1 + pick(2));  // a leading zero
      } else {
        text += std::to_string(pick(10)) + (pick(2) ? "." + digits(1 + pick(3)) : "") + (pick(2) ? "e" : "E") +
                (pick(2) ? "-" : "") + digits(1);
      }
      check(text);
    }
  }

  int accepted() const { return accepted_; }

 private:
  static const std::shared_ptr<const TokenTrie>& trie() {
    static const auto t = test::toy_trie();
    return t;
  }

  Bounds bounds_;
  bool integer_;
  std::shared_ptr<const Grammar> grammar_;
  int accepted_ = 0;
  int failures_ = 0;
};

const char* const kBoundSchemas[] = {
    R"({"minimum":0,"maximum":1})",
    R"({"minimum":0.5,"maximum":2.5})",
    R"({"minimum":-2.75,"exclusiveMaximum":0.5})",
    R"({"exclusiveMinimum":-1,"exclusiveMaximum":1})",
    R"({"exclusiveMinimum":-1.5,"maximum":0})",
    R"({"minimum":-1,"exclusiveMaximum":0})",
    R"({"exclusiveMinimum":0.25})",
    R"({"minimum":-3.5})",
    R"({"maximum":-0.125})",
    R"({"exclusiveMaximum":7})",
    R"({"minimum":-10.5,"maximum":-3.25})",
    R"({"exclusiveMinimum":-10,"exclusiveMaximum":-9})",
    R"({"minimum":1.2,"maximum":1.2})",
    R"({"minimum":0.001,"exclusiveMaximum":0.002})",
    R"({"minimum":0,"exclusiveMinimum":0,"maximum":3,"exclusiveMaximum":3})",
    R"({"minimum":1.25,"exclusiveMinimum":1.5,"maximum":20,"exclusiveMaximum":19.75})",
    R"({"minimum":99.5,"exclusiveMaximum":100})",
    R"({"exclusiveMinimum":0.1,"maximum":0.30000000000000004})",
    R"({"minimum":-123456789.125,"exclusiveMaximum":98765432.5})",
    R"({"minimum":-1e-7,"exclusiveMaximum":1e-20})",
    R"({"minimum":-1e300,"maximum":12345678901234.5})",
};

TEST(JsonNumberRange, NumbersAgreeWithADirectCheckNearEveryBound) {
  for (const char* schema : kBoundSchemas) {
    Checker checker(json::parse(schema), /*integer=*/false);
    ASSERT_TRUE(checker.compiled()) << schema;
    checker.enumerate_near_bounds();
    EXPECT_GT(checker.accepted(), 0) << schema;
  }
}

TEST(JsonNumberRange, NumbersAgreeWithADirectCheckOnRandomStrings) {
  uint32_t seed = 1;
  for (const char* schema : kBoundSchemas) {
    Checker checker(json::parse(schema), /*integer=*/false);
    checker.sample(4000, seed++);
  }
}

TEST(JsonNumberRange, IntegersAgreeWithADirectCheck) {
  uint32_t seed = 100;
  int compiled = 0;
  for (const char* schema : kBoundSchemas) {
    Checker checker(json::parse(schema), /*integer=*/true);
    checker.enumerate_near_bounds();
    checker.sample(2000, seed++);
    if (checker.compiled()) {
      ++compiled;
      EXPECT_GT(checker.accepted(), 0) << schema;
    }
  }
  EXPECT_EQ(compiled, 16);  // five have no integer within (and above, none near their bounds was expected)
}

TEST(JsonNumberRange, FractionsNearABoundStopBeforeTheyCouldRoundOntoIt) {
  Checker below_100(json::parse(R"({"exclusiveMaximum":100})"), false);
  EXPECT_TRUE(below_100.accepts("99.9999999999999"));     // 15 significant digits: below 100 as a double
  EXPECT_FALSE(below_100.accepts("99.99999999999999"));   // 16: would be fine, but is not generated
  EXPECT_FALSE(below_100.accepts("99.999999999999999"));  // 17: reads back as 100.0
  Checker above_tenth(json::parse(R"({"exclusiveMinimum":0.1})"), false);
  EXPECT_FALSE(above_tenth.accepts("0.1"));
  EXPECT_FALSE(above_tenth.accepts("0.100000000000000"));
  EXPECT_TRUE(above_tenth.accepts("0.100000000000001"));
  Checker sum(json::parse(R"({"minimum":0.30000000000000004})"), false);  // 0.1 + 0.2
  EXPECT_FALSE(sum.accepts("0.3"));
  EXPECT_TRUE(sum.accepts("0.300000000000001"));
}

TEST(JsonNumberRange, UnitIntervalHasFractions) {
  Checker unit(json::parse(R"({"minimum":0,"maximum":1})"), false);
  for (const char* ok : {"0", "0.5", "0.25", "0.999999999999999", "1", "1.0", "1.000"}) EXPECT_TRUE(unit.accepts(ok)) << ok;
  for (const char* bad : {"1.01", "-0.1", "-0", "-0.0", "1e0", "0.5e0", "5E-1", ".5", "0."}) {
    EXPECT_FALSE(unit.accepts(bad)) << bad;
  }
}

TEST(JsonNumberRange, NoNumberWithinIsAnError) {
  for (const char* schema : {R"({"type":"number","minimum":1,"exclusiveMaximum":1})",
                             R"({"type":"number","exclusiveMinimum":0.5,"maximum":0.5})",
                             R"({"type":"number","minimum":0.75,"maximum":0.7})", R"({"type":"number","minimum":1e17})",
                             R"({"type":"number","maximum":-1e300})", R"({"type":"integer","minimum":1.2,"maximum":1.8})",
                             R"({"type":"integer","exclusiveMinimum":-1,"exclusiveMaximum":0})"}) {
    auto g = json_schema_grammar(json::parse(schema));
    ASSERT_FALSE(g.ok()) << schema;
    EXPECT_NE(g.error().find("leave no"), std::string::npos) << schema << " -> " << g.error();
  }
}

TEST(JsonNumberRange, BoundsAreTheDecimalsTheSchemaWrote) {
  auto bound = [](const char* text) { return decimal_bound(json::parse(text), false); };
  EXPECT_EQ(bound("0.1").fraction, "1");
  EXPECT_EQ(bound("1e-7").fraction, "0000001");
  EXPECT_EQ(bound("2.50").fraction, "5");
  EXPECT_EQ(bound("3.0").fraction, "");
  EXPECT_EQ(bound("3.0").integer, 3);
  EXPECT_TRUE(bound("-2.75").negative);
  EXPECT_EQ(bound("-2.75").integer, 2);
  EXPECT_FALSE(bound("-0.0").negative);
  EXPECT_FALSE(bound("-0").negative);
  EXPECT_GT(bound("1e300").integer, kMaxIntegerMagnitude);
  EXPECT_GT(bound("18446744073709551615").integer, kMaxIntegerMagnitude);
  EXPECT_TRUE(bound("-9223372036854775808").negative);
  EXPECT_GT(bound("-9223372036854775808").integer, kMaxIntegerMagnitude);
  EXPECT_EQ(tighter_lower(bound("1"), decimal_bound(json(1), true)).exclusive, true);
  EXPECT_EQ(tighter_upper(bound("-1.5"), bound("-1.25")).fraction, "5");
  EXPECT_EQ(tighter_lower(bound("-1.5"), bound("-1.25")).fraction, "25");
}

}  // namespace
}  // namespace tandem::grammar
