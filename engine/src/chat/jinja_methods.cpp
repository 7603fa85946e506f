// The Python methods templates call on values: str (strip, split, startswith, format, ...),
// dict (items, keys, values, get) and list/tuple (count, index). Methods that mutate a dict
// or list are refused exactly as jinja's ImmutableSandboxedEnvironment refuses them.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_renderer.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {

using StrMethod = std::function<Value(Renderer&, const std::string&, CallArgs&)>;

std::optional<std::string> optional_str(const BoundArgs& a, size_t i, std::string_view method) {
  if (!a.has(i) || a.get(i).is_none()) return std::nullopt;
  const Value& v = a.get(i);
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) fail("TypeError: " + std::string(method) + " arg must be None or str, not " + v.type_name());
  return v.as_string();
}

const std::string& required_str(const BoundArgs& a, size_t i, std::string_view method) {
  const Value& v = a.get(i);
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) fail("TypeError: " + std::string(method) + "() argument must be str, not " + v.type_name());
  return v.as_string();
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.push_back(Value::string(std::move(p)));
  return Value::list(std::move(items));
}

// Python's s[start:end] bounds for the optional start/end arguments of find, count, ...
std::u32string window(const std::u32string& s, const BoundArgs& a, size_t start_index, size_t& offset) {
  const auto n = static_cast<int64_t>(s.size());
  auto norm = [n](int64_t x) { return x < 0 ? std::max<int64_t>(0, x + n) : std::min(x, n); };
  const int64_t start = norm(a.get_int(start_index, 0));
  const int64_t end = norm(a.get_int(start_index + 1, n));
  offset = static_cast<size_t>(start);
  if (end <= start) return {};
  return s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start));
}

Value find_impl(const std::string& self, CallArgs& args, const char* name, bool from_right, bool raise) {
  BoundArgs a(name, args, {"sub", "start", "end"});
  const std::u32string sub = decode_utf8(required_str(a, 0, name));
  size_t offset = 0;
  const std::u32string hay = window(decode_utf8(self), a, 1, offset);
  const size_t at = from_right ? hay.rfind(sub) : hay.find(sub);
  if (at == std::u32string::npos) {
    if (raise) fail("ValueError: substring not found");
    return Value::integer(-1);
  }
  return Value::integer(static_cast<int64_t>(at + offset));
}

Value affix_test(const std::string& self, CallArgs& args, const char* name, bool prefix) {
  BoundArgs a(name, args, {"prefix", "start", "end"});
  const Value& affix = a.get(0);
  size_t offset = 0;
  const std::string s = encode_utf8(window(decode_utf8(self), a, 1, offset));
  auto matches = [&](const Value& v) {
    if (!v.is_string()) {
      fail(std::string("TypeError: ") + name + " first arg must be str or a tuple of str, not " + v.type_name());
    }
    const std::string& x = v.as_string();
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list() && affix.as_list().is_tuple) {
    for (const Value& v : affix.as_list().items) {
      if (matches(v)) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  return Value::boolean(matches(affix));
}

Value pad(const std::string& self, CallArgs& args, const char* name, int align) {
  BoundArgs a(name, args, {"width", "fillchar"});
  const int64_t width = a.get_int(0, 0);
  const std::string fill = a.has(1) ? required_str(a, 1, name) : " ";
  if (count_code_points(fill) != 1) fail("TypeError: The fill character must be exactly one character long");
  const auto n = static_cast<int64_t>(count_code_points(self));
  if (width <= n) return Value::string(self);
  const int64_t margin = width - n;
  int64_t left = align < 0 ? 0 : align > 0 ? margin : margin / 2 + (margin & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += self;
  for (int64_t i = left; i < margin; ++i) out += fill;
  return Value::string(std::move(out));
}

bool all_chars(const std::string& self, bool (*pred)(char32_t)) {
  const std::u32string u = decode_utf8(self);
  return !u.empty() && std::all_of(u.begin(), u.end(), pred);
}

// ---- str.format ----

std::string add_grouping(const std::string& digits, char sep) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(sep);
    out.push_back(digits[i]);
  }
  return out;
}

// Python's format(value, spec) for the common cases of the format mini-language.
std::string format_value(const Value& v, const std::string& spec) {
  if (spec.empty()) return v.to_str();
  size_t i = 0;
  std::string fill = " ";
  char align = 0;
  const std::u32string u = decode_utf8(spec);
  if (u.size() >= 2 && (u[1] == '<' || u[1] == '>' || u[1] == '^' || u[1] == '=')) {
    fill.clear();
    append_utf8(fill, u[0]);
    align = static_cast<char>(u[1]);
    i = 2;
  } else if (!u.empty() && (u[0] == '<' || u[0] == '>' || u[0] == '^' || u[0] == '=')) {
    align = static_cast<char>(u[0]);
    i = 1;
  }
  char sign = '-';
  if (i < u.size() && (u[i] == '+' || u[i] == '-' || u[i] == ' ')) sign = static_cast<char>(u[i++]);
  bool alternate = false;
  if (i < u.size() && u[i] == '#') {
    alternate = true;
    ++i;
  }
  if (i < u.size() && u[i] == '0') {
    if (!align) {
      fill = "0";
      align = '=';
    }
    ++i;
  }
  int64_t width = 0;
  while (i < u.size() && u[i] >= '0' && u[i] <= '9') width = width * 10 + (u[i++] - '0');
  char grouping = 0;
  if (i < u.size() && (u[i] == ',' || u[i] == '_')) grouping = static_cast<char>(u[i++]);
  int precision = -1;
  if (i < u.size() && u[i] == '.') {
    ++i;
    precision = 0;
    while (i < u.size() && u[i] >= '0' && u[i] <= '9') precision = precision * 10 + static_cast<int>(u[i++] - '0');
  }
  char type = 0;
  if (i < u.size()) type = static_cast<char>(u[i++]);
  if (i != u.size()) fail("ValueError: Invalid format specifier '" + spec + "'");

  std::string body;
  std::string sign_text;
  if (v.is_string() || (type == 's')) {
    if (!v.is_string()) fail("ValueError: Unknown format code 's' for object of type '" + v.type_name() + "'");
    std::u32string s = decode_utf8(v.as_string());
    if (precision >= 0 && s.size() > static_cast<size_t>(precision)) s.resize(static_cast<size_t>(precision));
    body = encode_utf8(s);
    if (!align) align = '<';
  } else if (v.is_number()) {
    const bool integral = !v.is_float();
    if (!type) type = integral ? 'd' : 'g';
    double d = v.as_double();
    const bool negative = integral ? v.as_int() < 0 : std::signbit(d);
    if (negative) {
      sign_text = "-";
    } else if (sign == '+') {
      sign_text = "+";
    } else if (sign == ' ') {
      sign_text = " ";
    }
    char buf[512];
    if (type == 'd' || type == 'x' || type == 'X' || type == 'o' || type == 'b') {
      if (!integral) fail(std::string("ValueError: Unknown format code '") + type + "' for object of type 'float'");
      uint64_t mag = negative ? 0 - static_cast<uint64_t>(v.as_int()) : static_cast<uint64_t>(v.as_int());
      if (type == 'b') {
        do {
          body.insert(body.begin(), static_cast<char>('0' + (mag & 1)));
          mag >>= 1;
        } while (mag);
      } else {
        std::snprintf(buf, sizeof buf, type == 'd' ? "%llu" : type == 'x' ? "%llx" : type == 'X' ? "%llX" : "%llo",
                      static_cast<unsigned long long>(mag));
        body = buf;
      }
      if (grouping && type == 'd') body = add_grouping(body, grouping);
      if (alternate && type != 'd') body = std::string("0") + (type == 'X' ? 'X' : type) + body;
    } else if (std::string_view("eEfFgG%").find(type) != std::string_view::npos) {
      d = std::fabs(d);
      const int p = precision < 0 ? 6 : precision;
      if (type == '%') {
        std::snprintf(buf, sizeof buf, "%.*f", p, d * 100);
        body = std::string(buf) + "%";
      } else {
        const char f[] = {'%', '.', '*', type, 0};
        std::snprintf(buf, sizeof buf, f, p, d);
        body = buf;
      }
      if (grouping) {
        const size_t dot = body.find_first_of(".eE%");
        body = add_grouping(body.substr(0, dot), grouping) + (dot == std::string::npos ? "" : body.substr(dot));
      }
    } else {
      fail(std::string("ValueError: Unknown format code '") + type + "'");
    }
    if (!align) align = '>';
  } else {
    fail("TypeError: unsupported format string passed to " + v.type_name() + ".__format__");
  }
  const auto len = static_cast<int64_t>(count_code_points(sign_text + body));
  if (width <= len) return sign_text + body;
  const int64_t margin = width - len;
  std::string padding;
  auto repeat = [&](int64_t k) {
    std::string out;
    for (int64_t j = 0; j < k; ++j) out += fill;
    return out;
  };
  switch (align) {
    case '<': return sign_text + body + repeat(margin);
    case '^': return repeat(margin / 2) + sign_text + body + repeat(margin - margin / 2);
    case '=': return sign_text + repeat(margin) + body;
    default: return repeat(margin) + sign_text + body;
  }
}

Value str_format(Renderer& r, const std::string& fmt, CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  bool manual = false;
  bool automatic = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      fail("ValueError: Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i + 1);
    if (close == std::string::npos) fail("ValueError: Single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    i = close;
    if (field.find('{') != std::string::npos) fail("unsupported: nested replacement fields in str.format");
    std::string spec;
    if (const size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    char conversion = 0;
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      if (bang + 2 != field.size()) fail("ValueError: expected ':' after conversion specifier");
      conversion = field[bang + 1];
      field.resize(bang);
    }
    size_t name_end = field.find_first_of(".[");
    const std::string name = field.substr(0, name_end);
    Value value;
    if (name.empty()) {
      if (manual) fail("ValueError: cannot switch from manual field specification to automatic field numbering");
      automatic = true;
      if (auto_index >= args.positional.size()) {
        fail("IndexError: Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
      }
      value = args.positional[auto_index++];
    } else if (std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      if (automatic) fail("ValueError: cannot switch from automatic field numbering to manual field specification");
      manual = true;
      const size_t index = std::stoul(name);
      if (index >= args.positional.size()) {
        fail("IndexError: Replacement index " + name + " out of range for positional args tuple");
      }
      value = args.positional[index];
    } else {
      const auto it = std::find_if(args.keyword.begin(), args.keyword.end(), [&](const auto& kw) { return kw.first == name; });
      if (it == args.keyword.end()) fail("KeyError: '" + name + "'");
      value = it->second;
    }
    while (name_end != std::string::npos && name_end < field.size()) {
      if (field[name_end] == '.') {
        const size_t next = field.find_first_of(".[", name_end + 1);
        value = r.get_attr(value, field.substr(name_end + 1, next - name_end - 1));
        name_end = next;
      } else {
        const size_t bracket = field.find(']', name_end);
        if (bracket == std::string::npos) fail("ValueError: Missing ']' in format string");
        const std::string key = field.substr(name_end + 1, bracket - name_end - 1);
        const bool numeric = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        value = r.get_item(value, numeric ? Value::integer(std::stoll(key)) : Value::string(key));
        name_end = bracket + 1;
      }
    }
    if (conversion == 'r' || conversion == 'a') {
      value = Value::string(value.repr());
    } else if (conversion == 's') {
      value = Value::string(value.to_str());
    } else if (conversion) {
      fail(std::string("ValueError: Unknown conversion specifier ") + conversion);
    }
    out += format_value(value, spec);
  }
  return Value::string(std::move(out));
}

// ---- the method tables ----

Value no_arg_string(const std::string& self, CallArgs& args, const char* name, std::string (*fn)(std::string_view)) {
  BoundArgs a(name, args, {});
  return Value::string(fn(self));
}

const std::unordered_map<std::string_view, StrMethod>& str_methods() {
  static const auto* table = new std::unordered_map<std::string_view, StrMethod>{
      {"strip",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("strip", args, {"chars"});
         return Value::string(strip(s, optional_str(a, 0, "strip"), true, true));
       }},
      {"lstrip",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("lstrip", args, {"chars"});
         return Value::string(strip(s, optional_str(a, 0, "lstrip"), true, false));
       }},
      {"rstrip",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("rstrip", args, {"chars"});
         return Value::string(strip(s, optional_str(a, 0, "rstrip"), false, true));
       }},
      {"split",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("split", args, {"sep", "maxsplit"});
         const auto sep = optional_str(a, 0, "split");
         if (sep && sep->empty()) fail("ValueError: empty separator");
         return string_list(split(s, sep, a.get_int(1, -1)));
       }},
      {"rsplit",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("rsplit", args, {"sep", "maxsplit"});
         const auto sep = optional_str(a, 0, "rsplit");
         if (sep && sep->empty()) fail("ValueError: empty separator");
         return string_list(rsplit(s, sep, a.get_int(1, -1)));
       }},
      {"splitlines",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("splitlines", args, {"keepends"});
         return string_list(splitlines(s, a.get_bool(0, false)));
       }},
      {"startswith", [](Renderer&, const std::string& s, CallArgs& args) { return affix_test(s, args, "startswith", true); }},
      {"endswith", [](Renderer&, const std::string& s, CallArgs& args) { return affix_test(s, args, "endswith", false); }},
      {"replace",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("replace", args, {"old", "new", "count"});
         return Value::string(replace(s, required_str(a, 0, "replace"), required_str(a, 1, "replace"), a.get_int(2, -1)));
       }},
      {"upper", [](Renderer&, const std::string& s, CallArgs& args) { return no_arg_string(s, args, "upper", upper); }},
      {"lower", [](Renderer&, const std::string& s, CallArgs& args) { return no_arg_string(s, args, "lower", lower); }},
      {"casefold", [](Renderer&, const std::string& s, CallArgs& args) { return no_arg_string(s, args, "casefold", lower); }},
      {"title", [](Renderer&, const std::string& s, CallArgs& args) { return no_arg_string(s, args, "title", title); }},
      {"capitalize",
       [](Renderer&, const std::string& s, CallArgs& args) { return no_arg_string(s, args, "capitalize", capitalize); }},
      {"swapcase",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("swapcase", args, {});
         std::string out;
         for (char32_t c : decode_utf8(s)) append_utf8(out, is_upper(c) ? to_lower(c) : to_upper(c));
         return Value::string(std::move(out));
       }},
      {"find", [](Renderer&, const std::string& s, CallArgs& args) { return find_impl(s, args, "find", false, false); }},
      {"rfind", [](Renderer&, const std::string& s, CallArgs& args) { return find_impl(s, args, "rfind", true, false); }},
      {"index", [](Renderer&, const std::string& s, CallArgs& args) { return find_impl(s, args, "index", false, true); }},
      {"rindex", [](Renderer&, const std::string& s, CallArgs& args) { return find_impl(s, args, "rindex", true, true); }},
      {"count",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("count", args, {"sub", "start", "end"});
         const std::u32string sub = decode_utf8(required_str(a, 0, "count"));
         size_t offset = 0;
         const std::u32string hay = window(decode_utf8(s), a, 1, offset);
         if (sub.empty()) return Value::integer(static_cast<int64_t>(hay.size()) + 1);
         int64_t n = 0;
         for (size_t at = hay.find(sub); at != std::u32string::npos; at = hay.find(sub, at + sub.size())) ++n;
         return Value::integer(n);
       }},
      {"join",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("join", args, {"iterable"});
         std::string out;
         size_t i = 0;
         for (const Value& item : iterate(a.get(0))) {
           if (!item.is_string()) {
             fail("TypeError: sequence item " + std::to_string(i) + ": expected str instance, " + item.type_name() +
                  " found");
           }
           if (i++) out += s;
           out += item.as_string();
         }
         return Value::string(std::move(out));
       }},
      {"format", [](Renderer& r, const std::string& s, CallArgs& args) { return str_format(r, s, args); }},
      {"isdigit", [](Renderer&, const std::string& s, CallArgs&) { return Value::boolean(all_chars(s, is_digit)); }},
      {"isdecimal", [](Renderer&, const std::string& s, CallArgs&) { return Value::boolean(all_chars(s, is_digit)); }},
      {"isnumeric", [](Renderer&, const std::string& s, CallArgs&) { return Value::boolean(all_chars(s, is_digit)); }},
      {"isalpha", [](Renderer&, const std::string& s, CallArgs&) { return Value::boolean(all_chars(s, is_alpha)); }},
      {"isalnum",
       [](Renderer&, const std::string& s, CallArgs&) {
         return Value::boolean(all_chars(s, [](char32_t c) { return is_alpha(c) || is_digit(c); }));
       }},
      {"isspace", [](Renderer&, const std::string& s, CallArgs&) { return Value::boolean(all_chars(s, is_space)); }},
      {"isascii",
       [](Renderer&, const std::string& s, CallArgs&) {
         return Value::boolean(std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
       }},
      {"isupper",
       [](Renderer&, const std::string& s, CallArgs&) {
         bool cased = false;
         for (char32_t c : decode_utf8(s)) {
           if (is_lower(c)) return Value::boolean(false);
           cased = cased || is_upper(c);
         }
         return Value::boolean(cased);
       }},
      {"islower",
       [](Renderer&, const std::string& s, CallArgs&) {
         bool cased = false;
         for (char32_t c : decode_utf8(s)) {
           if (is_upper(c)) return Value::boolean(false);
           cased = cased || is_lower(c);
         }
         return Value::boolean(cased);
       }},
      {"removeprefix",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("removeprefix", args, {"prefix"});
         const std::string& p = required_str(a, 0, "removeprefix");
         return Value::string(s.compare(0, p.size(), p) == 0 ? s.substr(p.size()) : s);
       }},
      {"removesuffix",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("removesuffix", args, {"suffix"});
         const std::string& p = required_str(a, 0, "removesuffix");
         const bool has = !p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
         return Value::string(has ? s.substr(0, s.size() - p.size()) : s);
       }},
      {"center", [](Renderer&, const std::string& s, CallArgs& args) { return pad(s, args, "center", 0); }},
      {"ljust", [](Renderer&, const std::string& s, CallArgs& args) { return pad(s, args, "ljust", -1); }},
      {"rjust", [](Renderer&, const std::string& s, CallArgs& args) { return pad(s, args, "rjust", 1); }},
      {"zfill",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("zfill", args, {"width"});
         const auto n = static_cast<int64_t>(count_code_points(s));
         const int64_t width = a.get_int(0, 0);
         if (width <= n) return Value::string(s);
         const bool signed_text = !s.empty() && (s[0] == '+' || s[0] == '-');
         const std::string zeros(static_cast<size_t>(width - n), '0');
         return Value::string(signed_text ? s.substr(0, 1) + zeros + s.substr(1) : zeros + s);
       }},
      {"partition",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("partition", args, {"sep"});
         const std::string& sep = required_str(a, 0, "partition");
         if (sep.empty()) fail("ValueError: empty separator");
         const size_t at = s.find(sep);
         if (at == std::string::npos) return Value::tuple({Value::string(s), Value::string(""), Value::string("")});
         return Value::tuple({Value::string(s.substr(0, at)), Value::string(sep), Value::string(s.substr(at + sep.size()))});
       }},
      {"rpartition",
       [](Renderer&, const std::string& s, CallArgs& args) {
         BoundArgs a("rpartition", args, {"sep"});
         const std::string& sep = required_str(a, 0, "rpartition");
         if (sep.empty()) fail("ValueError: empty separator");
         const size_t at = s.rfind(sep);
         if (at == std::string::npos) return Value::tuple({Value::string(""), Value::string(""), Value::string(s)});
         return Value::tuple({Value::string(s.substr(0, at)), Value::string(sep), Value::string(s.substr(at + sep.size()))});
       }},
  };
  return *table;
}

// str methods that exist in Python but not here: calling one fails with a clear message
// rather than looking like an undefined value.
const std::unordered_set<std::string_view>& unsupported_str_methods() {
  static const auto* names = new std::unordered_set<std::string_view>{
      "encode", "expandtabs", "format_map", "isidentifier", "isprintable", "istitle", "maketrans", "translate"};
  return *names;
}

Value unsafe(const Value& obj, const std::string& name) {
  return Value::undefined("access to attribute '" + name + "' of '" + obj.type_name() + "' object is unsafe.");
}

Value unsupported_method(const Value& obj, const std::string& name) {
  const std::string what = obj.type_name() + "." + name + "()";
  return Value::function(what, [what](Renderer&, CallArgs&) -> Value {
    fail("unsupported: " + what + " is not implemented by Tandem's chat template engine");
  });
}

Value sequence_index(const std::vector<Value>& items, CallArgs& args) {
  BoundArgs a("index", args, {"value", "start", "stop"});
  const auto n = static_cast<int64_t>(items.size());
  auto norm = [n](int64_t x) { return x < 0 ? std::max<int64_t>(0, x + n) : std::min(x, n); };
  for (int64_t i = norm(a.get_int(1, 0)); i < norm(a.get_int(2, n)); ++i) {
    if (python_equal(items[static_cast<size_t>(i)], a.get(0))) return Value::integer(i);
  }
  fail("ValueError: " + a.get(0).repr() + " is not in list");
}

}  // namespace

std::optional<Value> find_method(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    const auto& table = str_methods();
    if (auto it = table.find(name); it != table.end()) {
      const StrMethod& method = it->second;
      const std::string self = obj.as_string();
      return Value::function("str." + name, [method, self](Renderer& r, CallArgs& args) { return method(r, self, args); });
    }
    if (unsupported_str_methods().count(name)) return unsupported_method(obj, name);
    return std::nullopt;
  }
  if (obj.is_dict()) {
    if (name == "clear" || name == "pop" || name == "popitem" || name == "setdefault" || name == "update") {
      return unsafe(obj, name);
    }
    if (name == "fromkeys") return unsupported_method(obj, name);
    const Value self = obj;
    if (name == "items") {
      return Value::function("dict.items", [self](Renderer&, CallArgs& args) {
        BoundArgs a("items", args, {});
        std::vector<Value> pairs;
        for (const auto& [k, v] : self.as_dict().entries) pairs.push_back(Value::tuple({Value::string(k), v}));
        return Value::dict_view("dict_items", std::move(pairs));
      });
    }
    if (name == "keys") {
      return Value::function("dict.keys", [self](Renderer&, CallArgs& args) {
        BoundArgs a("keys", args, {});
        return Value::dict_view("dict_keys", iterate(self));
      });
    }
    if (name == "values") {
      return Value::function("dict.values", [self](Renderer&, CallArgs& args) {
        BoundArgs a("values", args, {});
        std::vector<Value> values;
        for (const auto& [k, v] : self.as_dict().entries) values.push_back(v);
        return Value::dict_view("dict_values", std::move(values));
      });
    }
    if (name == "get") {
      return Value::function("dict.get", [self](Renderer&, CallArgs& args) {
        BoundArgs a("get", args, {"key", "default"});
        const Value& key = a.get(0);
        if (key.is_string()) {
          if (const Value* v = self.as_dict().find(key.as_string())) return *v;
        }
        return a.get_or(1, Value::none());
      });
    }
    if (name == "copy") {
      return Value::function("dict.copy", [self](Renderer&, CallArgs&) { return Value::dict(self.as_dict()); });
    }
    return std::nullopt;
  }
  if (obj.is_list()) {
    const bool tuple = obj.as_list().is_tuple;
    if (!tuple && (name == "append" || name == "clear" || name == "extend" || name == "insert" || name == "pop" ||
                   name == "remove" || name == "reverse" || name == "sort")) {
      return unsafe(obj, name);
    }
    const Value self = obj;
    if (name == "count") {
      return Value::function("count", [self](Renderer&, CallArgs& args) {
        BoundArgs a("count", args, {"value"});
        int64_t n = 0;
        for (const Value& v : self.as_list().items) n += python_equal(v, a.get(0)) ? 1 : 0;
        return Value::integer(n);
      });
    }
    if (name == "index") {
      return Value::function("index", [self](Renderer&, CallArgs& args) { return sequence_index(self.as_list().items, args); });
    }
    if (name == "copy" && !tuple) {
      return Value::function("list.copy", [self](Renderer&, CallArgs&) { return Value::list(self.as_list().items); });
    }
  }
  return std::nullopt;
}

}  // namespace tandem::jinja
