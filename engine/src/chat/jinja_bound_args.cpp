#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"

namespace tandem::jinja {

BoundArgs::BoundArgs(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params)
    : function_(function), params_(params), values_(params.size(), nullptr) {
  if (args.positional.size() > params_.size()) {
    fail("TypeError: " + function_ + "() takes at most " + std::to_string(params_.size()) + " argument(s) (" +
         std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) values_[i] = &args.positional[i];
  for (const auto& [name, value] : args.keyword) {
    size_t i = 0;
    while (i < params_.size() && params_[i] != name) ++i;
    if (i == params_.size()) fail("TypeError: " + function_ + "() got an unexpected keyword argument '" + name + "'");
    if (values_[i]) fail("TypeError: " + function_ + "() got multiple values for argument '" + name + "'");
    values_[i] = &value;
  }
}

const Value& BoundArgs::get(size_t i) const {
  if (!values_[i]) {
    fail("TypeError: " + function_ + "() missing required argument '" + std::string(params_[i]) + "'");
  }
  return *values_[i];
}

int64_t BoundArgs::get_int(size_t i, int64_t fallback) const {
  if (!has(i) || values_[i]->is_none()) return fallback;
  const Value& v = *values_[i];
  if (v.is_int() || v.is_bool()) return v.as_int();
  fail("TypeError: " + function_ + "() argument '" + std::string(params_[i]) + "' must be an integer, not " +
       v.type_name());
}

bool BoundArgs::get_bool(size_t i, bool fallback) const { return has(i) ? values_[i]->truthy() : fallback; }

std::optional<std::string> BoundArgs::get_string(size_t i) const {
  if (!has(i) || values_[i]->is_none()) return std::nullopt;
  const Value& v = *values_[i];
  if (v.is_undefined()) return std::nullopt;
  if (!v.is_string()) {
    fail("TypeError: " + function_ + "() argument '" + std::string(params_[i]) + "' must be a string, not " +
         v.type_name());
  }
  return v.as_string();
}

}  // namespace tandem::jinja
