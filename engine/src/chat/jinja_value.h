#pragma once
// The values a chat template computes with, modelled on the Python objects jinja2 hands a
// template: None, bool, int, float, str, list, tuple, dict, jinja's Undefined and Namespace,
// and callables. Printing, truthiness and equality follow Python so that rendered text is
// byte-identical to what transformers produces.
//
// Lists, tuples and dicts are shared and immutable once built (chat templates run in jinja's
// ImmutableSandboxedEnvironment, which forbids list.append and dict.update); a Namespace is
// the one mutable object (`{% set ns.x = ... %}`), shared by every copy of its Value.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::jinja {

class Value;
class Renderer;

struct List {
  std::vector<Value> items;
  bool is_tuple = false;  // prints as (a, b) and never equals a list, as in Python
  // dict.items()/keys()/values() return views that print as dict_items([...]); nullptr for
  // ordinary lists.
  const char* view = nullptr;
};

// A Python dict with string keys, in insertion order.
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;

  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value value);  // replaces in place or appends
};

struct Namespace {
  Dict attributes;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
  std::string name;  // for messages: "macro 'greet'", "range"
  std::function<Value(Renderer& renderer, CallArgs& args)> call;
};

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };

class Value {
 public:
  Value() = default;  // undefined, with jinja's generic message

  // `error` is what jinja's Undefined raises when the template does anything with it but test,
  // print or iterate it, e.g. "'x' is undefined" or "'dict object' has no attribute 'role'".
  static Value undefined(std::string error);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value number(double d);
  // `markup` marks a jinja Markup string (from |safe or |escape): `+` escapes the other side.
  static Value string(std::string s, bool markup = false);
  static Value list(std::vector<Value> items);
  static Value tuple(std::vector<Value> items);
  static Value dict_view(const char* view, std::vector<Value> items);  // "dict_items", ...
  static Value dict(Dict d);
  static Value make_namespace(Dict attributes);
  static Value function(std::string name, std::function<Value(Renderer&, CallArgs&)> call);

  static Value from_json(const nlohmann::json& j);
  static Value from_json(const nlohmann::ordered_json& j);

  Kind kind() const;
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python's numbers.Number
  bool is_list() const { return kind() == Kind::kList; }  // list or tuple
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_function() const { return kind() == Kind::kFunction; }
  bool is_markup() const;

  // Typed access; each checks the kind (a wrong kind is a bug in the caller).
  bool as_bool() const;
  int64_t as_int() const;     // bool counts as int, as in Python
  double as_double() const;   // int, bool and float
  const std::string& as_string() const;
  const List& as_list() const;
  const Dict& as_dict() const;
  Namespace& as_namespace() const;
  const Function& as_function() const;
  const std::string& undefined_error() const;

  bool truthy() const;            // Python bool()
  std::string to_str() const;     // Python str(); Undefined is ""
  std::string repr() const;       // Python repr(), used inside printed containers
  std::string type_name() const;  // Python type name for error messages: 'int', 'NoneType', ...

 private:
  struct Undef {
    std::shared_ptr<const std::string> error;
  };
  struct Str {
    std::string text;
    bool markup = false;
  };
  using Data = std::variant<Undef, std::nullptr_t, bool, int64_t, double, Str, std::shared_ptr<const List>,
                            std::shared_ptr<const Dict>, std::shared_ptr<Namespace>, std::shared_ptr<const Function>>;
  explicit Value(Data data) : data_(std::move(data)) {}
  Data data_;
};

// Bounds recursion over nested values (printing, comparing, converting), which templates can
// nest arbitrarily deep at run time: past kMaxValueDepth levels it throws jinja::Error, as
// Python raises RecursionError, instead of overflowing the stack.
inline constexpr int kMaxValueDepth = 1000;
class ValueDepthGuard {
 public:
  ValueDepthGuard();
  ~ValueDepthGuard();
  ValueDepthGuard(const ValueDepthGuard&) = delete;
  ValueDepthGuard& operator=(const ValueDepthGuard&) = delete;
};

// Python's repr() of a float ("1.0", "0.1", "1e+16", "1e-05", "inf", "nan").
std::string python_float_repr(double d);
// Python's repr() of a str: single quotes unless the text has ' and no ".
std::string python_string_repr(std::string_view s);

}  // namespace tandem::jinja
