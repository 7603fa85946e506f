#pragma once
// Numbers within bounds, as grammar expressions: the JSON texts of the numbers that a schema's
// minimum / maximum / exclusiveMinimum / exclusiveMaximum allow (json_schema_to_grammar.h).
//
// Bounds are compared as decimals, digit by digit: an integer part strictly inside the bounds takes
// any fraction, and at a bound's own integer part the fraction's digits are held against the bound's.
// A bound is the shortest decimal that reads back as the schema's number (0.1 is one tenth, not
// the double nearest it), and a generated number with a fraction has at most
// kMaxSignificantDigits digits, so a validator that reads both as doubles compares them as the
// decimals compare: no generated number rounds onto an exclusive bound.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "grammar/grammar.h"

namespace tandem::grammar {

inline constexpr int64_t kMaxIntegerMagnitude = 9'999'999'999'999'999;  // 16 digits
inline constexpr uint32_t kMaxSignificantDigits = 15;  // DBL_DIG: such decimals are distinct doubles

// A bound as a decimal: (negative ? -1 : 1) * integer.fraction.
struct DecimalBound {
  bool negative = false;  // never for zero
  int64_t integer = 0;    // the integer part's magnitude; saturated far above kMaxIntegerMagnitude
  std::string fraction;   // the digits after the point, without trailing zeros
  bool exclusive = false;
};

// The bound a JSON number (integer or floating point, finite) sets.
DecimalBound decimal_bound(const nlohmann::ordered_json& number, bool exclusive);

// Of two lower (upper) bounds, the one that allows less; on a tie, the exclusive one.
DecimalBound tighter_lower(const DecimalBound& a, const DecimalBound& b);
DecimalBound tighter_upper(const DecimalBound& a, const DecimalBound& b);

// The numbers within the bounds (a missing bound: the largest magnitude), written as JSON without
// an exponent: an optional '-', an integer part without leading zeros (at most 16 digits), then
// optionally '.' and 1 to max_fraction_digits digits, with at most kMaxSignificantDigits digits in
// all when there is a fraction. Never "-0". max_fraction_digits 0 gives the integers.
// nullptr when no number fits.
ExprPtr bounded_number(const std::optional<DecimalBound>& lower, const std::optional<DecimalBound>& upper,
                       uint32_t max_fraction_digits);

}  // namespace tandem::grammar
