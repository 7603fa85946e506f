#include "gguf/gguf_value.h"

#include <sstream>

namespace tandem::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::UINT8: return "u8";
    case ValueType::INT8: return "i8";
    case ValueType::UINT16: return "u16";
    case ValueType::INT16: return "i16";
    case ValueType::UINT32: return "u32";
    case ValueType::INT32: return "i32";
    case ValueType::FLOAT32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "str";
    case ValueType::ARRAY: return "arr";
    case ValueType::UINT64: return "u64";
    case ValueType::INT64: return "i64";
    case ValueType::FLOAT64: return "f64";
  }
  return "?";
}

bool value_type_is_valid(uint32_t id) { return id <= static_cast<uint32_t>(ValueType::FLOAT64); }

Value Value::make_uint(ValueType type, uint64_t v) {
  Value out;
  out.type_ = type;
  out.data_ = v;
  return out;
}

Value Value::make_int(ValueType type, int64_t v) {
  Value out;
  out.type_ = type;
  out.data_ = v;
  return out;
}

Value Value::make_float(ValueType type, double v) {
  Value out;
  out.type_ = type;
  out.data_ = v;
  return out;
}

Value Value::make_bool(bool v) {
  Value out;
  out.type_ = ValueType::BOOL;
  out.data_ = v;
  return out;
}

Value Value::make_string(std::string v) {
  Value out;
  out.type_ = ValueType::STRING;
  out.data_ = std::move(v);
  return out;
}

Value Value::make_array(ValueType element_type, std::vector<Value> items) {
  Value out;
  out.type_ = ValueType::ARRAY;
  out.data_ = Array{element_type, std::move(items)};
  return out;
}

bool Value::is_integer() const {
  return std::holds_alternative<uint64_t>(data_) || std::holds_alternative<int64_t>(data_);
}

std::optional<int64_t> Value::as_int() const {
  if (const auto* u = std::get_if<uint64_t>(&data_)) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&data_)) return *i;
  return std::nullopt;
}

std::optional<uint64_t> Value::as_uint() const {
  if (const auto* u = std::get_if<uint64_t>(&data_)) return *u;
  if (const auto* i = std::get_if<int64_t>(&data_)) {
    if (*i < 0) return std::nullopt;
    return static_cast<uint64_t>(*i);
  }
  return std::nullopt;
}

std::optional<double> Value::as_float() const {
  if (const auto* d = std::get_if<double>(&data_)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&data_)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> Value::as_bool() const {
  if (const auto* b = std::get_if<bool>(&data_)) return *b;
  return std::nullopt;
}

const std::string* Value::as_string() const { return std::get_if<std::string>(&data_); }

const Array* Value::as_array() const { return std::get_if<Array>(&data_); }

std::string Value::to_display_string(size_t max_items) const {
  std::ostringstream out;
  if (const auto* s = as_string()) {
    std::string shown = s->size() > 120 ? s->substr(0, 117) + "..." : *s;
    for (char& c : shown) {
      if (c == '\n') c = ' ';
    }
    out << '"' << shown << '"';
  } else if (const auto* a = as_array()) {
    out << '[';
    for (size_t i = 0; i < a->items.size() && i < max_items; ++i) {
      if (i) out << ", ";
      out << a->items[i].to_display_string(max_items);
    }
    if (a->items.size() > max_items) out << ", ... (" << a->items.size() << " items)";
    out << ']';
  } else if (const auto* b = std::get_if<bool>(&data_)) {
    out << (*b ? "true" : "false");
  } else if (const auto* d = std::get_if<double>(&data_)) {
    out << *d;
  } else if (const auto* u = std::get_if<uint64_t>(&data_)) {
    out << *u;
  } else if (const auto* i = std::get_if<int64_t>(&data_)) {
    out << *i;
  }
  return out.str();
}

}  // namespace tandem::gguf
