// jinja2's tests (`x is defined`, `x is divisibleby 3`, ...), with Python's notion of the types
// behind them: bool is a number, an Undefined is iterable, a str is a sequence.

#include <functional>
#include <string_view>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {

using TestFn = std::function<bool(Renderer&, const Value&, CallArgs&)>;

const Value& other(std::string_view name, CallArgs& args) {
  if (args.positional.size() != 1 || !args.keyword.empty()) {
    fail("TypeError: the '" + std::string(name) + "' test takes exactly one argument");
  }
  return args.positional[0];
}

TestFn comparison(std::string_view op, std::string_view name) {
  return [op, name](Renderer&, const Value& v, CallArgs& args) { return compare(op, v, other(name, args)); };
}

bool str_is_cased(const Value& v, bool upper_case) {
  bool any_cased = false;
  for (char32_t c : decode_utf8(v.to_str())) {
    if (is_upper(c)) {
      if (!upper_case) return false;
      any_cased = true;
    } else if (is_lower(c)) {
      if (upper_case) return false;
      any_cased = true;
    }
  }
  return any_cased;
}

// `name in environment.filters` hashes the name first, as Python does.
bool hashable(const Value& v) {
  if ((v.is_list() && !v.as_list().is_tuple) || v.is_dict()) fail("TypeError: unhashable type: '" + v.type_name() + "'");
  return true;
}

bool modulo_is(const Value& v, const Value& divisor, int64_t remainder) {
  return python_equal(binary_op("%", v, divisor), Value::integer(remainder));
}

const std::unordered_map<std::string_view, TestFn>& tests() {
  static const auto* table = new std::unordered_map<std::string_view, TestFn>{
      {"defined", [](Renderer&, const Value& v, CallArgs&) { return !v.is_undefined(); }},
      {"undefined", [](Renderer&, const Value& v, CallArgs&) { return v.is_undefined(); }},
      {"none", [](Renderer&, const Value& v, CallArgs&) { return v.is_none(); }},
      {"boolean", [](Renderer&, const Value& v, CallArgs&) { return v.is_bool(); }},
      {"true", [](Renderer&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }},
      {"false", [](Renderer&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }},
      {"integer", [](Renderer&, const Value& v, CallArgs&) { return v.is_int(); }},
      {"float", [](Renderer&, const Value& v, CallArgs&) { return v.is_float(); }},
      {"number", [](Renderer&, const Value& v, CallArgs&) { return v.is_number(); }},
      {"string", [](Renderer&, const Value& v, CallArgs&) { return v.is_string(); }},
      {"mapping", [](Renderer&, const Value& v, CallArgs&) { return v.is_dict(); }},
      {"sequence",
       [](Renderer&, const Value& v, CallArgs&) {
         return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
       }},
      {"iterable",
       [](Renderer&, const Value& v, CallArgs&) {
         return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
       }},
      {"callable", [](Renderer&, const Value& v, CallArgs&) { return v.is_function() || v.is_undefined(); }},
      {"escaped", [](Renderer&, const Value& v, CallArgs&) { return v.is_markup(); }},
      {"lower", [](Renderer&, const Value& v, CallArgs&) { return str_is_cased(v, false); }},
      {"upper", [](Renderer&, const Value& v, CallArgs&) { return str_is_cased(v, true); }},
      {"odd", [](Renderer&, const Value& v, CallArgs&) { return modulo_is(v, Value::integer(2), 1); }},
      {"even", [](Renderer&, const Value& v, CallArgs&) { return modulo_is(v, Value::integer(2), 0); }},
      {"divisibleby",
       [](Renderer&, const Value& v, CallArgs& args) { return modulo_is(v, other("divisibleby", args), 0); }},
      {"sameas",
       [](Renderer&, const Value& v, CallArgs& args) {
         // Python identity: None and the bools are singletons and small ints are cached.
         const Value& o = other("sameas", args);
         if (v.is_none() || v.is_bool()) return v.kind() == o.kind() && python_equal(v, o);
         if (v.is_int() && o.is_int()) return v.as_int() == o.as_int() && v.as_int() >= -5 && v.as_int() <= 256;
         if ((v.is_namespace() && o.is_namespace()) || (v.is_function() && o.is_function())) return python_equal(v, o);
         return false;
       }},
      {"in", [](Renderer&, const Value& v, CallArgs& args) { return contains(other("in", args), v); }},
      {"filter",
       [](Renderer&, const Value& v, CallArgs&) { return hashable(v) && v.is_string() && is_known_filter(v.as_string()); }},
      {"test",
       [](Renderer&, const Value& v, CallArgs&) { return hashable(v) && v.is_string() && is_known_test(v.as_string()); }},
      {"eq", comparison("==", "eq")},
      {"equalto", comparison("==", "equalto")},
      {"==", comparison("==", "==")},
      {"ne", comparison("!=", "ne")},
      {"!=", comparison("!=", "!=")},
      {"lt", comparison("<", "lt")},
      {"lessthan", comparison("<", "lessthan")},
      {"<", comparison("<", "<")},
      {"le", comparison("<=", "le")},
      {"<=", comparison("<=", "<=")},
      {"gt", comparison(">", "gt")},
      {"greaterthan", comparison(">", "greaterthan")},
      {">", comparison(">", ">")},
      {"ge", comparison(">=", "ge")},
      {">=", comparison(">=", ">=")},
  };
  return *table;
}

}  // namespace

bool is_known_test(std::string_view name) { return tests().count(name) != 0; }

bool apply_test(Renderer& r, std::string_view name, const Value& input, CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) fail("unknown test '" + std::string(name) + "'");
  return it->second(r, input, args);
}

}  // namespace tandem::jinja
