#pragma once
// jinja2's built-in filters and tests, the Python methods templates call on str, dict and list
// values, and the globals transformers provides (range, namespace, dict, raise_exception,
// strftime_now, ...). Each lives in its own file; this header is their common entry point.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_value.h"

namespace tandem::jinja {

class Renderer;

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);
Value apply_filter(Renderer& r, std::string_view name, const Value& input, CallArgs& args);
bool apply_test(Renderer& r, std::string_view name, const Value& input, CallArgs& args);

// obj.name for a Python method of str, dict or list: a bound method, or (for methods the
// immutable sandbox forbids, like list.append) an undefined value whose use fails with
// jinja's SecurityError message. nullopt when `name` is not a method of obj's type.
std::optional<Value> find_method(const Value& obj, const std::string& name);

// The globals every template sees.
Dict make_globals();

// Binds a builtin's arguments Python-style: positional first, then by keyword, with errors
// naming the function for unknown, duplicate or surplus arguments.
class BoundArgs {
 public:
  BoundArgs(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params);

  bool has(size_t i) const { return values_[i] != nullptr; }
  const Value& get(size_t i) const;  // fails when not given
  Value get_or(size_t i, Value fallback) const { return has(i) ? *values_[i] : std::move(fallback); }
  int64_t get_int(size_t i, int64_t fallback) const;
  bool get_bool(size_t i, bool fallback) const;  // by truthiness, as Python does
  std::optional<std::string> get_string(size_t i) const;  // nullopt when not given or None

 private:
  std::string function_;
  std::vector<std::string_view> params_;
  std::vector<const Value*> values_;
};

}  // namespace tandem::jinja
