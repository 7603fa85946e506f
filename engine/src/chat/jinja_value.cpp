#include "chat/jinja_value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "chat/jinja_error.h"
#include "chat/jinja_text.h"
#include "core/check.h"

namespace tandem::jinja {

namespace {
thread_local int value_depth = 0;
}  // namespace

ValueDepthGuard::ValueDepthGuard() {
  if (++value_depth > kMaxValueDepth) {
    --value_depth;
    fail("RecursionError: values nest more than " + std::to_string(kMaxValueDepth) + " levels deep");
  }
}
ValueDepthGuard::~ValueDepthGuard() { --value_depth; }

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  for (auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
  } else {
    entries.emplace_back(std::move(key), std::move(value));
  }
}

Value Value::undefined(std::string error) {
  return Value(Data(Undef{std::make_shared<const std::string>(std::move(error))}));
}
Value Value::none() { return Value(Data(nullptr)); }
Value Value::boolean(bool b) { return Value(Data(b)); }
Value Value::integer(int64_t i) { return Value(Data(i)); }
Value Value::number(double d) { return Value(Data(d)); }
Value Value::string(std::string s, bool markup) { return Value(Data(Str{std::move(s), markup})); }
Value Value::list(std::vector<Value> items) {
  return Value(Data(std::make_shared<const List>(List{std::move(items), false})));
}
Value Value::tuple(std::vector<Value> items) {
  return Value(Data(std::make_shared<const List>(List{std::move(items), true})));
}
Value Value::dict_view(const char* view, std::vector<Value> items) {
  return Value(Data(std::make_shared<const List>(List{std::move(items), false, view})));
}
Value Value::dict(Dict d) { return Value(Data(std::make_shared<const Dict>(std::move(d)))); }
Value Value::make_namespace(Dict attributes) {
  return Value(Data(std::make_shared<Namespace>(Namespace{std::move(attributes)})));
}
Value Value::function(std::string name, std::function<Value(Renderer&, CallArgs&)> call) {
  return Value(Data(std::make_shared<const Function>(Function{std::move(name), std::move(call)})));
}

namespace {
template <typename Json>
Value value_from_json(const Json& j) {
  ValueDepthGuard guard;
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = j.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::integer(static_cast<int64_t>(u));
      return Value::number(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::number(j.template get<double>());
    case nlohmann::json::value_t::string: return Value::string(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(value_from_json(item));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      d.entries.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it) d.entries.emplace_back(it.key(), value_from_json(it.value()));
      return Value::dict(std::move(d));
    }
    default: return Value::none();  // binary and discarded values do not occur in parsed JSON
  }
}
}  // namespace

Value Value::from_json(const nlohmann::json& j) { return value_from_json(j); }
Value Value::from_json(const nlohmann::ordered_json& j) { return value_from_json(j); }

Kind Value::kind() const {
  switch (data_.index()) {
    case 0: return Kind::kUndefined;
    case 1: return Kind::kNone;
    case 2: return Kind::kBool;
    case 3: return Kind::kInt;
    case 4: return Kind::kFloat;
    case 5: return Kind::kString;
    case 6: return Kind::kList;
    case 7: return Kind::kDict;
    case 8: return Kind::kNamespace;
    default: return Kind::kFunction;
  }
}

bool Value::is_markup() const { return is_string() && std::get<Str>(data_).markup; }

bool Value::as_bool() const {
  TANDEM_CHECK(is_bool());
  return std::get<bool>(data_);
}

int64_t Value::as_int() const {
  if (is_bool()) return std::get<bool>(data_) ? 1 : 0;
  TANDEM_CHECK(is_int());
  return std::get<int64_t>(data_);
}

double Value::as_double() const {
  if (is_float()) return std::get<double>(data_);
  return static_cast<double>(as_int());
}

const std::string& Value::as_string() const {
  TANDEM_CHECK(is_string());
  return std::get<Str>(data_).text;
}

const List& Value::as_list() const {
  TANDEM_CHECK(is_list());
  return *std::get<std::shared_ptr<const List>>(data_);
}

const Dict& Value::as_dict() const {
  TANDEM_CHECK(is_dict());
  return *std::get<std::shared_ptr<const Dict>>(data_);
}

Namespace& Value::as_namespace() const {
  TANDEM_CHECK(is_namespace());
  return *std::get<std::shared_ptr<Namespace>>(data_);
}

const Function& Value::as_function() const {
  TANDEM_CHECK(is_function());
  return *std::get<std::shared_ptr<const Function>>(data_);
}

const std::string& Value::undefined_error() const {
  TANDEM_CHECK(is_undefined());
  static const std::string kGeneric = "value is undefined";
  const auto& error = std::get<Undef>(data_).error;
  return error ? *error : kGeneric;
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return as_bool();
    case Kind::kInt: return as_int() != 0;
    case Kind::kFloat: return as_double() != 0.0;
    case Kind::kString: return !as_string().empty();
    case Kind::kList: return !as_list().items.empty();
    case Kind::kDict: return !as_dict().entries.empty();
    case Kind::kNamespace:
    case Kind::kFunction: return true;
  }
  return false;
}

namespace {
std::string join_reprs(const std::vector<Value>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += items[i].repr();
  }
  return out;
}

std::string dict_repr(const Dict& d) {
  std::string out = "{";
  for (size_t i = 0; i < d.entries.size(); ++i) {
    if (i) out += ", ";
    out += python_string_repr(d.entries[i].first);
    out += ": ";
    out += d.entries[i].second.repr();
  }
  return out + "}";
}
}  // namespace

std::string Value::to_str() const {
  ValueDepthGuard guard;
  switch (kind()) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(as_int());
    case Kind::kFloat: return python_float_repr(as_double());
    case Kind::kString: return as_string();
    case Kind::kList: {
      const List& l = as_list();
      if (l.view) return std::string(l.view) + "([" + join_reprs(l.items) + "])";
      if (!l.is_tuple) return "[" + join_reprs(l.items) + "]";
      return "(" + join_reprs(l.items) + (l.items.size() == 1 ? ",)" : ")");
    }
    case Kind::kDict: return dict_repr(as_dict());
    case Kind::kNamespace: return "<Namespace " + dict_repr(as_namespace().attributes) + ">";
    case Kind::kFunction: return "<function " + as_function().name + ">";
  }
  return "";
}

std::string Value::repr() const {
  if (is_undefined()) return "Undefined";
  if (is_string()) {
    return is_markup() ? "Markup(" + python_string_repr(as_string()) + ")" : python_string_repr(as_string());
  }
  return to_str();
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return is_markup() ? "Markup" : "str";
    case Kind::kList: return as_list().view ? as_list().view : as_list().is_tuple ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kFunction: return "function";
  }
  return "object";
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Shortest round-trip digits, as Python's repr uses; then Python's layout rules.
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(result.ptr - buf));
  const size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  if (exponent >= -4 && exponent < 16) {
    std::string out = sign;
    if (exponent >= 0) {
      const size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    }
    return out;
  }
  std::string out = sign + digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += exponent < 0 ? "e-" : "e+";
  const std::string exp_digits = std::to_string(exponent < 0 ? -exponent : exponent);
  if (exp_digits.size() < 2) out += "0";
  return out + exp_digits;
}

std::string python_string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  static const char* kHex = "0123456789abcdef";
  for (char32_t c : decode_utf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) || c == 0xAD || (c >= 0xDC80 && c <= 0xDCFF)) {
      // Non-printable code points (and our escaped invalid bytes) print as \xNN.
      const unsigned v = static_cast<unsigned>(c) & 0xFF;
      out += "\\x";
      out.push_back(kHex[(v >> 4) & 0xF]);
      out.push_back(kHex[v & 0xF]);
    } else if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
               (c >= 0x205F && c <= 0x2064) || c == 0x3000 || c == 0xFEFF) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(c >> shift) & 0xF]);
    } else {
      append_utf8(out, c);
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace tandem::jinja
