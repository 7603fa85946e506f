#pragma once
// Python's operators on template values: arithmetic with int/float promotion and floor
// division and modulo that round toward negative infinity, str/list concatenation and
// repetition, ==, ordering, `in`, and printf-style `%` formatting. Type errors throw
// jinja::Error with Python's wording ("can only concatenate str (not "int") to str").

#include <string>
#include <string_view>

#include "chat/jinja_value.h"

namespace tandem::jinja {

// + - * / // % ** on two values.
Value binary_op(std::string_view op, const Value& a, const Value& b);
// Unary - or +.
Value unary_op(std::string_view op, const Value& v);

bool python_equal(const Value& a, const Value& b);
// a < b as Python orders numbers, strings (by code point) and lists; throws for other pairs.
bool python_less(const Value& a, const Value& b);
// One comparison of a chained compare: == != < <= > >= in notin.
bool compare(std::string_view op, const Value& a, const Value& b);
// `item in container`.
bool contains(const Value& container, const Value& item);

// `format % args` (also jinja's |format filter): %s %r %d %i %f %% with flags and width.
// With a dict argument, `mapping` points at it for %(key)s specs.
std::string percent_format(std::string_view format, const std::vector<Value>& args, const Dict* mapping = nullptr);

// Raises the error an Undefined value carries ("'x' is undefined").
[[noreturn]] void fail_undefined(const Value& v);

}  // namespace tandem::jinja
