#include "grammar/json_number_range.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>
#include <vector>

#include "core/check.h"

namespace tandem::grammar {
namespace {

// Bounds beyond every generated number keep their order against kMaxIntegerMagnitude at this size.
constexpr int64_t kSaturated = 1'000'000'000'000'000'000;

ExprPtr digit() { return bytes(ByteSet{}.add_range('0', '9')); }
ExprPtr digit_range(char first, char last) {
  return bytes(ByteSet{}.add_range(static_cast<uint8_t>(first), static_cast<uint8_t>(last)));
}

// Decimal strings lo <= hi of the same length: the digits between them, one position at a time.
ExprPtr fixed_width_range(const std::string& lo, const std::string& hi) {
  const size_t n = lo.size();
  if (n == 0) return empty();
  if (lo.find_first_not_of('0') == std::string::npos && hi.find_first_not_of('9') == std::string::npos) {
    return repeat(digit(), static_cast<uint32_t>(n), static_cast<uint32_t>(n));
  }
  if (lo[0] == hi[0]) return sequence({literal(lo.substr(0, 1)), fixed_width_range(lo.substr(1), hi.substr(1))});
  std::vector<ExprPtr> alternatives;
  alternatives.push_back(sequence({literal(lo.substr(0, 1)), fixed_width_range(lo.substr(1), std::string(n - 1, '9'))}));
  if (lo[0] + 1 <= hi[0] - 1) {
    alternatives.push_back(sequence({digit_range(static_cast<char>(lo[0] + 1), static_cast<char>(hi[0] - 1)),
                                     repeat(digit(), static_cast<uint32_t>(n - 1), static_cast<uint32_t>(n - 1))}));
  }
  alternatives.push_back(sequence({literal(hi.substr(0, 1)), fixed_width_range(std::string(n - 1, '0'), hi.substr(1))}));
  return choice(std::move(alternatives));
}

bool is_zero(std::string_view digits) { return digits.find_first_not_of('0') == std::string_view::npos; }

// How many fraction digits a number with this integer part may have: the significant digits stay
// within kMaxSignificantDigits (a leading "0." adds none).
uint32_t fraction_digits(int64_t integer, uint32_t max_fraction_digits) {
  const uint32_t used = integer == 0 ? 0 : static_cast<uint32_t>(std::to_string(integer).size());
  return used >= kMaxSignificantDigits ? 0 : std::min(max_fraction_digits, kMaxSignificantDigits - used);
}

// A set of digit strings, split by whether it holds the empty one: `stop` when it does (the number
// may end here), `more` for the others (nullptr: none).
struct Tail {
  bool stop = false;
  ExprPtr more;
};

Tail any_tail(uint32_t n) { return {true, n > 0 ? repeat(digit(), 1, n) : nullptr}; }

// head followed by one of tail's strings; nullptr when tail has none.
ExprPtr then(ExprPtr head, const Tail& tail) {
  if (tail.more == nullptr) return tail.stop ? head : nullptr;
  return sequence({std::move(head), tail.stop ? optional(tail.more) : tail.more});
}

// One side of a fraction's constraint: the bound's digits from this position on, and whether the
// bound itself is out.
struct Edge {
  std::string_view digits;
  bool strict = false;

  char first() const { return digits.empty() ? '0' : digits[0]; }
  Edge rest() const { return {digits.empty() ? digits : digits.substr(1), strict}; }
};

// Digit strings f of at most n digits with 0.lo <= 0.f <= 0.hi (< where strict); a missing edge
// constrains nothing. As integer_range does for integers: digits strictly between the edges' first
// digits take any continuation, and a digit equal to an edge's first digit continues against the
// rest of that edge.
Tail fraction_tail(std::optional<Edge> lo, std::optional<Edge> hi, uint32_t n) {
  if (lo && !lo->strict && is_zero(lo->digits)) lo.reset();  // 0.f >= 0 always holds
  Tail tail;
  tail.stop = !lo && (!hi || !hi->strict || !is_zero(hi->digits));  // does 0.000... fit?
  if (n == 0) return tail;
  if (!lo && !hi) return any_tail(n);
  const char first = lo ? static_cast<char>(lo->first() + 1) : '0';  // the free digits
  const char last = hi ? static_cast<char>(hi->first() - 1) : '9';
  std::vector<ExprPtr> alternatives;
  auto add = [&](ExprPtr e) {
    if (e) alternatives.push_back(std::move(e));
  };
  if (first <= last) add(then(digit_range(first, last), any_tail(n - 1)));
  if (lo && hi && lo->first() == hi->first()) {
    add(then(literal(std::string(1, lo->first())), fraction_tail(lo->rest(), hi->rest(), n - 1)));
  } else if (!hi || !lo || lo->first() < hi->first()) {
    if (lo) add(then(literal(std::string(1, lo->first())), fraction_tail(lo->rest(), std::nullopt, n - 1)));
    if (hi) add(then(literal(std::string(1, hi->first())), fraction_tail(std::nullopt, hi->rest(), n - 1)));
  }
  if (!alternatives.empty()) tail.more = choice(std::move(alternatives));
  return tail;
}

// The integer part's text, then '.' and one of the fraction's digit strings, or nothing.
ExprPtr with_fraction(int64_t integer, const Tail& fraction) {
  return then(literal(std::to_string(integer)),
              Tail{fraction.stop, fraction.more ? sequence({literal("."), fraction.more}) : nullptr});
}

ExprPtr choice_or_null(std::vector<ExprPtr> alternatives) {
  std::erase(alternatives, nullptr);
  return alternatives.empty() ? nullptr : choice(std::move(alternatives));
}

// Integer parts in [lo, hi] (0 <= lo <= hi), without leading zeros, each with any fraction it may have.
ExprPtr naturals(int64_t lo, int64_t hi, uint32_t max_fraction_digits) {
  std::vector<ExprPtr> alternatives;
  if (lo == 0) {
    alternatives.push_back(with_fraction(0, any_tail(fraction_digits(0, max_fraction_digits))));
    lo = 1;
  }
  int64_t width_first = 1;  // 10^(d-1): the first d-digit number
  for (size_t d = 1; d <= std::to_string(kMaxIntegerMagnitude).size() && lo <= hi; ++d, width_first *= 10) {
    const int64_t width_last = width_first * 10 - 1;  // fits: d <= 16 digits
    const int64_t a = std::max(lo, width_first);
    const int64_t b = std::min(hi, width_last);
    if (a > b) continue;
    const ExprPtr part = fixed_width_range(std::to_string(a), std::to_string(b));
    const Tail fraction = any_tail(fraction_digits(a, max_fraction_digits));  // a and b have d digits
    alternatives.push_back(then(part, Tail{true, fraction.more ? sequence({literal("."), fraction.more}) : nullptr}));
  }
  return choice_or_null(std::move(alternatives));
}

// Non-negative numbers within [lo, hi] (signs ignored): the integer parts strictly between the
// bounds' take any fraction; at a bound's integer part the fraction is held against the bound's.
ExprPtr magnitudes(const DecimalBound& lo, const DecimalBound& hi, uint32_t max_fraction_digits) {
  if (lo.integer > hi.integer) return nullptr;
  const Edge lo_edge{lo.fraction, lo.exclusive};
  const Edge hi_edge{hi.fraction, hi.exclusive};
  auto at = [&](int64_t integer, std::optional<Edge> l, std::optional<Edge> h) {
    return with_fraction(integer, fraction_tail(l, h, fraction_digits(integer, max_fraction_digits)));
  };
  if (lo.integer == hi.integer) return at(lo.integer, lo_edge, hi_edge);
  std::vector<ExprPtr> alternatives;
  alternatives.push_back(at(lo.integer, lo_edge, std::nullopt));
  if (lo.integer + 1 <= hi.integer - 1) alternatives.push_back(naturals(lo.integer + 1, hi.integer - 1, max_fraction_digits));
  alternatives.push_back(at(hi.integer, std::nullopt, hi_edge));
  return choice_or_null(std::move(alternatives));
}

int compare(const DecimalBound& a, const DecimalBound& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int magnitude = a.integer < b.integer ? -1 : a.integer > b.integer ? 1 : 0;
  // Without trailing zeros, a fraction's digit strings order as their values do ("5" < "51" < "6").
  if (magnitude == 0) magnitude = a.fraction < b.fraction ? -1 : a.fraction > b.fraction ? 1 : 0;
  return a.negative ? -magnitude : magnitude;
}

}  // namespace

DecimalBound decimal_bound(const nlohmann::ordered_json& number, bool exclusive) {
  TANDEM_CHECK(number.is_number());
  DecimalBound bound;
  bound.exclusive = exclusive;
  auto saturate = [](uint64_t magnitude) { return static_cast<int64_t>(std::min<uint64_t>(magnitude, kSaturated)); };
  if (number.is_number_unsigned()) {
    bound.integer = saturate(number.get<uint64_t>());
  } else if (number.is_number_integer()) {
    const int64_t v = number.get<int64_t>();
    bound.negative = v < 0;
    bound.integer = saturate(v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
  } else {
    const double v = number.get<double>();
    TANDEM_CHECK(std::isfinite(v));
    bound.negative = v < 0;
    const double magnitude = std::fabs(v);
    if (magnitude >= static_cast<double>(kSaturated)) {
      bound.integer = kSaturated;
    } else {
      // The shortest fixed-point text that reads back as this double: the decimal the schema meant.
      char text[512];  // the smallest subnormal takes about 330 characters
      const auto [end, error] = std::to_chars(text, text + sizeof text, magnitude, std::chars_format::fixed);
      TANDEM_CHECK(error == std::errc{});
      const std::string_view written(text, static_cast<size_t>(end - text));
      const size_t point = written.find('.');
      const std::string_view integer = written.substr(0, point);
      std::from_chars(integer.data(), integer.data() + integer.size(), bound.integer);
      if (point != std::string_view::npos) {
        bound.fraction = std::string(written.substr(point + 1));
        bound.fraction.erase(bound.fraction.find_last_not_of('0') + 1);
      }
    }
  }
  if (bound.integer == 0 && bound.fraction.empty()) bound.negative = false;
  return bound;
}

DecimalBound tighter_lower(const DecimalBound& a, const DecimalBound& b) {
  const int c = compare(a, b);
  if (c != 0) return c > 0 ? a : b;
  return a.exclusive ? a : b;
}

DecimalBound tighter_upper(const DecimalBound& a, const DecimalBound& b) {
  const int c = compare(a, b);
  if (c != 0) return c < 0 ? a : b;
  return a.exclusive ? a : b;
}

ExprPtr bounded_number(const std::optional<DecimalBound>& lower_bound, const std::optional<DecimalBound>& upper_bound,
                       uint32_t max_fraction_digits) {
  const DecimalBound lowest{true, kMaxIntegerMagnitude, "", false};
  const DecimalBound highest{false, kMaxIntegerMagnitude, "", false};
  const DecimalBound lower = tighter_lower(lower_bound.value_or(lowest), lowest);
  const DecimalBound upper = tighter_upper(upper_bound.value_or(highest), highest);
  std::vector<ExprPtr> alternatives;
  if (!upper.negative) {
    const DecimalBound from = lower.negative ? DecimalBound{} : lower;  // zero, inclusive
    alternatives.push_back(magnitudes(from, upper, max_fraction_digits));
  }
  if (lower.negative) {
    // Negative numbers by their magnitude, which is above zero (no "-0", "-0.0").
    const DecimalBound from = upper.negative ? upper : DecimalBound{false, 0, "", true};
    if (ExprPtr m = magnitudes(from, lower, max_fraction_digits)) alternatives.push_back(sequence({literal("-"), m}));
  }
  return choice_or_null(std::move(alternatives));
}

}  // namespace tandem::grammar
