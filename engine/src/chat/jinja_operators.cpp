#include "chat/jinja_operators.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "chat/jinja_error.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {

// Results bigger than this are refused rather than allocated ('x' * 10**12).
constexpr size_t kMaxRepeatBytes = size_t{256} << 20;

bool is_intlike(const Value& v) { return v.is_int() || v.is_bool(); }

[[noreturn]] void unsupported(std::string_view op, const Value& a, const Value& b) {
  fail("TypeError: unsupported operand type(s) for " + std::string(op) + ": '" + a.type_name() + "' and '" +
       b.type_name() + "'");
}

// Python ints are unbounded; ours stop at 64 bits and say so rather than wrap.
void check_overflow(bool overflow) {
  if (overflow) fail("OverflowError: integer result does not fit in 64 bits");
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  check_overflow(__builtin_add_overflow(a, b, &r));
  return r;
}

int64_t checked_sub(int64_t a, int64_t b) {
  int64_t r = 0;
  check_overflow(__builtin_sub_overflow(a, b, &r));
  return r;
}

int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  check_overflow(__builtin_mul_overflow(a, b, &r));
  return r;
}

// CPython's float floor division and modulo, which round toward negative infinity.
void float_divmod(double vx, double wx, double& floordiv, double& mod) {
  if (wx == 0.0) fail("ZeroDivisionError: float floor division by zero");
  mod = std::fmod(vx, wx);
  double div = (vx - mod) / wx;
  if (mod != 0.0) {
    if ((wx < 0) != (mod < 0)) {
      mod += wx;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, wx);
  }
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, vx / wx);
  }
}

Value repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && static_cast<uint64_t>(n) > kMaxRepeatBytes / s.size()) {
      fail("MemoryError: string repetition result is too large");
    }
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value::string(std::move(out));
  }
  const List& l = seq.as_list();
  if (!l.items.empty() && static_cast<uint64_t>(n) > kMaxRepeatBytes / 16 / l.items.size()) {
    fail("MemoryError: list repetition result is too large");
  }
  std::vector<Value> items;
  for (int64_t i = 0; i < n; ++i) items.insert(items.end(), l.items.begin(), l.items.end());
  return l.is_tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
}

Value add(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) {
      return Value::integer(checked_add(a.as_int(), b.as_int()));
    }
    return Value::number(a.as_double() + b.as_double());
  }
  if (a.is_string() && b.is_string()) {
    // Markup + str escapes the plain side (markupsafe's __add__/__radd__).
    if (a.is_markup() && !b.is_markup()) return Value::string(a.as_string() + html_escape(b.as_string()), true);
    if (b.is_markup() && !a.is_markup()) return Value::string(html_escape(a.as_string()) + b.as_string(), true);
    return Value::string(a.as_string() + b.as_string(), a.is_markup());
  }
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    std::vector<Value> items = a.as_list().items;
    items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
    return a.as_list().is_tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
  }
  if (a.is_string() || a.is_list()) {
    fail("TypeError: can only concatenate " + a.type_name() + " (not \"" + b.type_name() + "\") to " +
         a.type_name());
  }
  unsupported("+", a, b);
}

Value power(const Value& a, const Value& b) {
  if (is_intlike(a) && is_intlike(b) && b.as_int() >= 0) {
    int64_t result = 1;
    int64_t base = a.as_int();
    for (int64_t e = b.as_int(); e > 0; e >>= 1) {
      if (e & 1) result = checked_mul(result, base);
      if (e > 1) base = checked_mul(base, base);
    }
    return Value::integer(result);
  }
  const double x = a.as_double();
  const double y = b.as_double();
  if (x == 0.0 && y < 0) fail("ZeroDivisionError: 0.0 cannot be raised to a negative power");
  if (x < 0 && std::floor(y) != y) fail("ValueError: negative number cannot be raised to a fractional power");
  return Value::number(std::pow(x, y));
}

bool less(const Value& a, const Value& b, std::string_view op) {
  ValueDepthGuard guard;
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!python_equal(x[i], y[i])) return less(x[i], y[i], op);
    }
    return x.size() < y.size();
  }
  fail("TypeError: '" + std::string(op) + "' not supported between instances of '" + a.type_name() + "' and '" +
       b.type_name() + "'");
}

}  // namespace

void fail_undefined(const Value& v) { throw Error(ErrorKind::kRuntime, v.undefined_error()); }

Value binary_op(std::string_view op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (op == "+") return add(a, b);
  if (op == "*") {
    if (a.is_number() && b.is_number()) {
      if (is_intlike(a) && is_intlike(b)) {
        return Value::integer(checked_mul(a.as_int(), b.as_int()));
      }
      return Value::number(a.as_double() * b.as_double());
    }
    if ((a.is_string() || a.is_list()) && is_intlike(b)) return repeat(a, b.as_int());
    if (is_intlike(a) && (b.is_string() || b.is_list())) return repeat(b, a.as_int());
    if (a.is_string() || b.is_string() || a.is_list() || b.is_list()) {
      const Value& seq = a.is_string() || a.is_list() ? a : b;
      const Value& other = &seq == &a ? b : a;
      fail("TypeError: can't multiply sequence by non-int of type '" + other.type_name() + "'");
    }
    unsupported("*", a, b);
  }
  if (op == "%" && a.is_string()) {
    if (b.is_list() && b.as_list().is_tuple) return Value::string(percent_format(a.as_string(), b.as_list().items));
    return Value::string(percent_format(a.as_string(), {b}, b.is_dict() ? &b.as_dict() : nullptr));
  }
  if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
  const bool ints = is_intlike(a) && is_intlike(b);
  if (op == "-") {
    if (ints) {
      return Value::integer(checked_sub(a.as_int(), b.as_int()));
    }
    return Value::number(a.as_double() - b.as_double());
  }
  if (op == "/") {
    if (b.as_double() == 0.0) fail(ints ? "ZeroDivisionError: division by zero" : "ZeroDivisionError: float division by zero");
    return Value::number(a.as_double() / b.as_double());
  }
  if (op == "//" || op == "%") {
    if (ints) {
      const int64_t x = a.as_int();
      const int64_t y = b.as_int();
      if (y == 0) fail("ZeroDivisionError: integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) fail("OverflowError: integer result does not fit in 64 bits");
      int64_t q = x / y;
      int64_t r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {
        q -= 1;
        r += y;
      }
      return Value::integer(op == "//" ? q : r);
    }
    double floordiv = 0;
    double mod = 0;
    if (b.as_double() == 0.0) fail(op == "//" ? "ZeroDivisionError: float floor division by zero" : "ZeroDivisionError: float modulo");
    float_divmod(a.as_double(), b.as_double(), floordiv, mod);
    return Value::number(op == "//" ? floordiv : mod);
  }
  if (op == "**") return power(a, b);
  fail("unsupported operator " + std::string(op));
}

Value unary_op(std::string_view op, const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) fail("TypeError: bad operand type for unary " + std::string(op) + ": '" + v.type_name() + "'");
  if (op == "+") return v.is_bool() ? Value::integer(v.as_int()) : v;
  if (v.is_float()) return Value::number(-v.as_double());
  return Value::integer(checked_sub(0, v.as_int()));
}

bool python_equal(const Value& a, const Value& b) {
  ValueDepthGuard guard;
  if (a.is_number() && b.is_number()) {
    if (is_intlike(a) && is_intlike(b)) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.as_string() == b.as_string();
    case Kind::kList: {
      const List& x = a.as_list();
      const List& y = b.as_list();
      if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i) {
        if (!python_equal(x.items[i], y.items[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.find(k);
        if (!other || !python_equal(v, *other)) return false;
      }
      return true;
    }
    case Kind::kNamespace: return &a.as_namespace() == &b.as_namespace();
    case Kind::kFunction: return &a.as_function() == &b.as_function();
    default: return false;
  }
}

bool python_less(const Value& a, const Value& b) { return less(a, b, "<"); }

bool compare(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return python_equal(a, b);
  if (op == "!=") return !python_equal(a, b);
  if (op == "<") return less(a, b, "<");
  if (op == ">") return less(b, a, ">");
  if (op == "<=") return less(a, b, "<=") || python_equal(a, b);
  if (op == ">=") return less(b, a, ">=") || python_equal(a, b);
  if (op == "in") return contains(b, a);
  if (op == "notin") return !contains(b, a);
  fail("unsupported comparison " + std::string(op));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;  // iterating an Undefined yields nothing
    case Kind::kString:
      if (!item.is_string()) {
        if (item.is_undefined()) fail_undefined(item);
        fail("TypeError: 'in <string>' requires string as left operand, not " + item.type_name());
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Kind::kList:
      for (const Value& v : container.as_list().items) {
        if (python_equal(v, item)) return true;
      }
      return false;
    case Kind::kDict:
      if (item.is_list() && !item.as_list().is_tuple) fail("TypeError: unhashable type: 'list'");
      if (item.is_dict()) fail("TypeError: unhashable type: 'dict'");
      return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
    default: fail("TypeError: argument of type '" + container.type_name() + "' is not iterable");
  }
}

std::string percent_format(std::string_view format, const std::vector<Value>& args, const Dict* mapping) {
  std::string out;
  size_t next_arg = 0;
  const Value* keyed = nullptr;  // the value a %(key)s spec names
  auto take = [&]() -> const Value& {
    if (keyed) return *std::exchange(keyed, nullptr);
    if (next_arg >= args.size()) fail("TypeError: not enough arguments for format string");
    return args[next_arg++];
  };
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    if (++i >= format.size()) fail("ValueError: incomplete format");
    if (format[i] == '(') {
      if (!mapping) fail("TypeError: format requires a mapping");
      const size_t close = format.find(')', i);
      if (close == std::string_view::npos) fail("ValueError: incomplete format key");
      const std::string key(format.substr(i + 1, close - i - 1));
      keyed = mapping->find(key);
      if (!keyed) fail("KeyError: '" + key + "'");
      i = close + 1;
      if (i >= format.size()) fail("ValueError: incomplete format");
    }
    std::string spec = "%";
    while (i < format.size() && std::string_view("-+ 0#").find(format[i]) != std::string_view::npos) {
      spec.push_back(format[i++]);
    }
    auto read_number = [&]() {
      if (i < format.size() && format[i] == '*') {
        const Value& v = take();
        if (!is_intlike(v)) fail("TypeError: * wants int");
        spec += std::to_string(v.as_int());
        ++i;
        return;
      }
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') spec.push_back(format[i++]);
    };
    read_number();
    if (i < format.size() && format[i] == '.') {
      spec.push_back(format[i++]);
      read_number();
    }
    while (i < format.size() && (format[i] == 'l' || format[i] == 'h' || format[i] == 'L')) ++i;  // ignored
    if (i >= format.size()) fail("ValueError: incomplete format");
    const char type = format[i];
    char buf[512];
    if (type == '%') {
      out.push_back('%');
      continue;
    }
    if (type == 's' || type == 'r' || type == 'a') {
      const Value& v = take();
      const std::string text = type == 's' ? v.to_str() : v.repr();
      // Width and precision count code points, as in Python.
      std::u32string u = decode_utf8(text);
      const size_t dot = spec.find('.');
      if (dot != std::string::npos) {
        const size_t precision = std::strtoul(spec.c_str() + dot + 1, nullptr, 10);
        if (u.size() > precision) u.resize(precision);
      }
      size_t width = 0;
      bool left = spec.find('-') != std::string::npos;
      for (size_t k = 1; k < spec.size() && spec[k] != '.'; ++k) {
        if (spec[k] >= '1' && spec[k] <= '9') {
          width = std::strtoul(spec.c_str() + k, nullptr, 10);
          break;
        }
      }
      std::string body = encode_utf8(u);
      const std::string pad(width > u.size() ? width - u.size() : 0, ' ');
      out += left ? body + pad : pad + body;
      continue;
    }
    const Value& v = take();
    if (!v.is_number()) {
      if (v.is_undefined()) fail_undefined(v);
      fail("TypeError: %" + std::string(1, type) + " format: a real number is required, not " + v.type_name());
    }
    if (type == 'd' || type == 'i' || type == 'u' || type == 'x' || type == 'X' || type == 'o' || type == 'c') {
      long long n = v.is_float() ? static_cast<long long>(v.as_double()) : static_cast<long long>(v.as_int());
      if (type == 'c') {
        append_utf8(out, static_cast<char32_t>(n));
        continue;
      }
      spec += "ll";
      spec.push_back(type == 'i' || type == 'u' ? 'd' : type);
      std::snprintf(buf, sizeof buf, spec.c_str(), n);
    } else if (std::string_view("eEfFgG").find(type) != std::string_view::npos) {
      spec.push_back(type);
      std::snprintf(buf, sizeof buf, spec.c_str(), v.as_double());
    } else {
      fail(std::string("ValueError: unsupported format character '") + type + "'");
    }
    out += buf;
  }
  // A mapping argument may go unused, as in Python.
  if (!mapping && next_arg < args.size()) fail("TypeError: not all arguments converted during string formatting");
  return out;
}

}  // namespace tandem::jinja
