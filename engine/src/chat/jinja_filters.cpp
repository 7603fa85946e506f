// jinja2's built-in filters, as they behave with autoescape off (transformers' setting), plus
// transformers' own `tojson`.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_error.h"
#include "chat/jinja_json.h"
#include "chat/jinja_operators.h"
#include "chat/jinja_renderer.h"
#include "chat/jinja_text.h"

namespace tandem::jinja {

namespace {

using FilterFn = std::function<Value(Renderer&, const Value&, CallArgs&)>;

// jinja's truncate.leeway policy default.
constexpr int64_t kTruncateLeeway = 5;

std::string soft_str(const Value& v) { return v.to_str(); }

Value str_result(const Value& input, std::string s) { return Value::string(std::move(s), input.is_markup()); }

void no_args(std::string_view name, const CallArgs& args) {
  if (!args.positional.empty() || !args.keyword.empty()) {
    fail("TypeError: the '" + std::string(name) + "' filter takes no arguments");
  }
}

// jinja's make_attrgetter: "a.b.0" looks up item a, then b, then index 0.
Value lookup_attribute(Renderer& r, Value item, const Value& attribute) {
  if (!attribute.is_string()) return r.get_item(item, attribute);
  for (const std::string& part : split(attribute.as_string(), std::string("."), -1)) {
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    item = r.get_item(item, numeric ? Value::integer(std::strtoll(part.c_str(), nullptr, 10)) : Value::string(part));
  }
  return item;
}

// Sort/unique key: strings compare case-insensitively unless case_sensitive.
Value fold_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(lower(v.as_string()));
  return v;
}

size_t python_len(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return count_code_points(v.as_string());
    case Kind::kList: return v.as_list().items.size();
    case Kind::kDict: return v.as_dict().entries.size();
    default: fail("TypeError: object of type '" + v.type_name() + "' has no len()");
  }
}

// Python's float(str): surrounding whitespace, underscores between digits, inf and nan.
std::optional<double> parse_python_float(const std::string& text) {
  const std::string s = strip(text, std::nullopt, true, true);
  if (s.empty()) return std::nullopt;
  std::string cleaned;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      if (i == 0 || i + 1 == s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        return std::nullopt;
      }
      continue;
    }
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' ||
          std::isalpha(static_cast<unsigned char>(c)))) {
      return std::nullopt;
    }
    cleaned.push_back(c);
  }
  const std::string low = lower(cleaned);
  const std::string_view body = low[0] == '+' || low[0] == '-' ? std::string_view(low).substr(1) : low;
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double v = body == "nan" ? NAN : INFINITY;
    return low[0] == '-' ? -v : v;
  }
  if (low.find_first_of("abcdfghijklmnopqrstuvwxyz") != std::string::npos) return std::nullopt;  // only 'e'
  char* end = nullptr;
  const double v = std::strtod(cleaned.c_str(), &end);
  if (end != cleaned.c_str() + cleaned.size()) return std::nullopt;
  return v;
}

// Python's int(str, base) for base 10: whitespace, a sign, digits with single underscores.
std::optional<int64_t> parse_python_int(const std::string& text, int base) {
  const std::string s = strip(text, std::nullopt, true, true);
  std::string digits;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) digits.push_back(s[i++]);
  if (base == 16 || base == 8 || base == 2) {
    if (i + 1 < s.size() && s[i] == '0') {
      const char x = static_cast<char>(s[i + 1] | 0x20);
      if ((base == 16 && x == 'x') || (base == 8 && x == 'o') || (base == 2 && x == 'b')) i += 2;
    }
  }
  if (i == s.size()) return std::nullopt;
  for (; i < s.size(); ++i) {
    if (s[i] == '_' && !digits.empty() && digits.back() != '_' && i + 1 < s.size()) continue;
    digits.push_back(s[i]);
  }
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(digits.c_str(), &end, base);
  if (end != digits.c_str() + digits.size() || errno == ERANGE || digits.empty()) return std::nullopt;
  if (digits.size() > 1 && (digits[0] == '0' || ((digits[0] == '+' || digits[0] == '-') && digits[1] == '0')) && base == 10) {
    // Python rejects leading zeros ("007") except for zero itself.
    if (std::any_of(digits.begin(), digits.end(), [](char c) { return c >= '1' && c <= '9'; })) return std::nullopt;
  }
  return v;
}

Value filter_int(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("int", args, {"default", "base"});
  const Value fallback = a.get_or(0, Value::integer(0));
  const int base = static_cast<int>(a.get_int(1, 10));
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_string()) {
    if (auto i = parse_python_int(v.as_string(), base)) return Value::integer(*i);
    if (auto d = parse_python_float(v.as_string())) {
      if (std::isfinite(*d) && std::fabs(*d) < 9.2e18) return Value::integer(static_cast<int64_t>(*d));
    }
    return fallback;
  }
  if (v.is_int() || v.is_bool()) return Value::integer(v.as_int());
  if (v.is_float()) {
    const double d = v.as_double();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
  }
  return fallback;
}

Value filter_float(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("float", args, {"default"});
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_number()) return Value::number(v.as_double());
  if (v.is_string()) {
    if (auto d = parse_python_float(v.as_string())) return Value::number(*d);
  }
  return a.get_or(0, Value::number(0.0));
}

// Python's round(x, n) for floats: correctly rounded, ties to even on the exact binary value.
double round_float(double x, int64_t precision) {
  if (!std::isfinite(x)) return x;
  if (precision >= 0) {
    if (precision > 300) return x;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
    return std::strtod(buf, nullptr);
  }
  const double scale = std::pow(10.0, static_cast<double>(-precision));
  return std::nearbyint(x / scale) * scale;
}

Value filter_round(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("round", args, {"precision", "method"});
  const int64_t precision = a.get_int(0, 0);
  const std::string method = a.get_string(1).value_or("common");
  if (method != "common" && method != "ceil" && method != "floor") {
    fail("FilterArgumentError: method must be common, ceil or floor");
  }
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) fail("TypeError: type " + v.type_name() + " doesn't define __round__ method");
  if (method == "common") {
    if (v.is_int() || v.is_bool()) {
      if (precision >= 0) return Value::integer(v.as_int());
      const auto scale = static_cast<int64_t>(std::pow(10.0, static_cast<double>(-precision)));
      return Value::integer(static_cast<int64_t>(round_float(static_cast<double>(v.as_int()), precision)) / scale * scale);
    }
    return Value::number(round_float(v.as_double(), precision));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = v.as_double() * scale;
  return Value::number((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / scale);
}

Value filter_default(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("default", args, {"default_value", "boolean"});
  const bool boolean = a.get_bool(1, false);
  if (v.is_undefined() || (boolean && !v.truthy())) return a.get_or(0, Value::string(""));
  return v;
}

Value filter_length(Renderer&, const Value& v, CallArgs& args) {
  no_args("length", args);
  return Value::integer(static_cast<int64_t>(python_len(v)));
}

Value filter_join(Renderer& r, const Value& v, CallArgs& args) {
  BoundArgs a("join", args, {"d", "attribute"});
  const std::string sep = a.has(0) ? a.get(0).to_str() : "";
  std::string out;
  bool first = true;
  for (const Value& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += (a.has(1) ? lookup_attribute(r, item, a.get(1)) : item).to_str();
  }
  return Value::string(std::move(out));
}

Value filter_first(Renderer&, const Value& v, CallArgs& args) {
  no_args("first", args);
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value filter_last(Renderer&, const Value& v, CallArgs& args) {
  no_args("last", args);
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value filter_tojson(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions o;
  o.ensure_ascii = a.get_bool(0, false);
  if (a.has(1) && !a.get(1).is_none()) {
    const Value& indent = a.get(1);
    if (indent.is_string()) {
      o.indent = indent.as_string();
    } else if (indent.is_int() || indent.is_bool()) {
      o.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
    } else {
      fail("TypeError: tojson indent must be an int or a string, not " + indent.type_name());
    }
  }
  if (a.has(2) && !a.get(2).is_none()) {
    const Value& seps = a.get(2);
    if (!seps.is_list() || seps.as_list().items.size() != 2 || !seps.as_list().items[0].is_string() ||
        !seps.as_list().items[1].is_string()) {
      fail("TypeError: tojson separators must be a pair of strings");
    }
    o.item_separator = seps.as_list().items[0].as_string();
    o.key_separator = seps.as_list().items[1].as_string();
  }
  o.sort_keys = a.get_bool(3, false);
  return Value::string(json_dumps(v, o));
}

Value filter_trim(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("trim", args, {"chars"});
  return str_result(v, strip(soft_str(v), a.get_string(0), true, true));
}

Value filter_replace(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("replace", args, {"old", "new", "count"});
  const std::string from = a.get(0).to_str();
  const std::string to = a.get(1).to_str();
  const int64_t count = a.get_int(2, -1);
  return Value::string(replace(soft_str(v), from, to, count));
}

Value filter_indent(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("indent", args, {"width", "first", "blank"});
  // jinja appends "\n" to its input with +=, which only a string survives.
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) fail("TypeError: unsupported operand type(s) for +=: '" + v.type_name() + "' and 'str'");
  std::string indentation(4, ' ');
  if (a.has(0)) {
    const Value& w = a.get(0);
    indentation = w.is_string() ? w.as_string() : std::string(static_cast<size_t>(std::max<int64_t>(0, a.get_int(0, 4))), ' ');
  }
  const bool first = a.get_bool(1, false);
  const bool blank = a.get_bool(2, false);
  // jinja appends a newline so that splitlines() keeps a trailing empty line.
  const std::vector<std::string> lines = splitlines(soft_str(v) + "\n", false);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += "\n";
      if (blank || !lines[i].empty()) out += indentation;
    }
    out += lines[i];
  }
  if (first) out = indentation + out;
  return Value::string(std::move(out));
}

Value filter_truncate(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("truncate", args, {"length", "killwords", "end", "leeway"});
  const int64_t length = a.get_int(0, 255);
  const bool killwords = a.get_bool(1, false);
  const std::string end = a.get_string(2).value_or("...");
  const int64_t leeway = a.get_int(3, kTruncateLeeway);
  const std::u32string s = decode_utf8(soft_str(v));
  const auto end_len = static_cast<int64_t>(count_code_points(end));
  if (length < end_len) fail("AssertionError: expected length >= " + std::to_string(end_len) + ", got " + std::to_string(length));
  if (leeway < 0) fail("AssertionError: expected leeway >= 0, got " + std::to_string(leeway));
  if (static_cast<int64_t>(s.size()) <= length + leeway) return v.is_string() ? v : Value::string(encode_utf8(s));
  const std::string head = encode_utf8(s.substr(0, static_cast<size_t>(length - end_len)));
  if (killwords) return Value::string(head + end);
  return Value::string(rsplit(head, std::string(" "), 1).front() + end);
}

Value filter_center(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("center", args, {"width"});
  const int64_t width = a.get_int(0, 80);
  const std::string s = soft_str(v);
  const auto n = static_cast<int64_t>(count_code_points(s));
  if (width <= n) return Value::string(s);
  const int64_t margin = width - n;
  const int64_t left = margin / 2 + (margin & width & 1);
  return Value::string(std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(margin - left), ' '));
}

Value filter_wordcount(Renderer&, const Value& v, CallArgs& args) {
  no_args("wordcount", args);
  int64_t words = 0;
  bool in_word = false;
  for (char32_t c : decode_utf8(soft_str(v))) {
    const bool w = is_word_char(c);
    if (w && !in_word) ++words;
    in_word = w;
  }
  return Value::integer(words);
}

// jinja's title filter capitalizes every run between `-`, whitespace and opening brackets.
Value filter_title(Renderer&, const Value& v, CallArgs& args) {
  no_args("title", args);
  const std::u32string s = decode_utf8(soft_str(v));
  auto is_delimiter = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_space(c); };
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    const bool delimiters = is_delimiter(s[i]);
    while (j < s.size() && is_delimiter(s[j]) == delimiters) ++j;
    const std::string run = encode_utf8(std::u32string_view(s).substr(i, j - i));
    if (delimiters) {
      out += run;
    } else {
      std::string head;
      append_utf8(head, s[i]);
      out += upper(head) + lower(encode_utf8(std::u32string_view(s).substr(i + 1, j - i - 1)));
    }
    i = j;
  }
  return Value::string(std::move(out));
}

Value filter_list(Renderer&, const Value& v, CallArgs& args) {
  no_args("list", args);
  return Value::list(iterate(v));
}

Value filter_items(Renderer&, const Value& v, CallArgs& args) {
  no_args("items", args);
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) fail("FilterArgumentError: Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.as_dict().entries) pairs.push_back(Value::tuple({Value::string(k), val}));
  return Value::list(std::move(pairs));
}

Value filter_dictsort(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("dictsort", args, {"case_sensitive", "by", "reverse"});
  const bool case_sensitive = a.get_bool(0, false);
  const std::string by = a.get_string(1).value_or("key");
  const bool reverse = a.get_bool(2, false);
  if (by != "key" && by != "value") fail("FilterArgumentError: You can only sort by either \"key\" or \"value\"");
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_dict()) fail("AttributeError: '" + v.type_name() + "' object has no attribute 'items'");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.as_dict().entries) pairs.push_back(Value::tuple({Value::string(k), val}));
  const size_t pos = by == "key" ? 0 : 1;
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    const Value kx = fold_case(x.as_list().items[pos], case_sensitive);
    const Value ky = fold_case(y.as_list().items[pos], case_sensitive);
    return reverse ? python_less(ky, kx) : python_less(kx, ky);
  });
  return Value::list(std::move(pairs));
}

Value filter_sort(Renderer& r, const Value& v, CallArgs& args) {
  BoundArgs a("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = a.get_bool(0, false);
  const bool case_sensitive = a.get_bool(1, false);
  std::vector<Value> items = iterate(v);
  // jinja sorts by a list of keys, one per comma-separated attribute; comparing lists first
  // tests elements for equality, so equal (even undefined) keys never meet `<`.
  std::vector<Value> attributes;
  if (a.has(2)) {
    const Value& attribute = a.get(2);
    if (attribute.is_string()) {
      for (std::string& part : split(attribute.as_string(), std::string(","), -1)) {
        attributes.push_back(Value::string(std::move(part)));
      }
    } else {
      attributes.push_back(attribute);
    }
  }
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) {
    std::vector<Value> keys;
    if (attributes.empty()) keys.push_back(fold_case(item, case_sensitive));
    for (const Value& attribute : attributes) keys.push_back(fold_case(lookup_attribute(r, item, attribute), case_sensitive));
    keyed.emplace_back(Value::list(std::move(keys)), std::move(item));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? python_less(y.first, x.first) : python_less(x.first, y.first);
  });
  std::vector<Value> out;
  for (auto& [unused, item] : keyed) out.push_back(std::move(item));
  return Value::list(std::move(out));
}

Value filter_unique(Renderer& r, const Value& v, CallArgs& args) {
  BoundArgs a("unique", args, {"case_sensitive", "attribute"});
  const bool case_sensitive = a.get_bool(0, false);
  std::vector<Value> seen;
  std::vector<Value> out;
  for (const Value& item : iterate(v)) {
    const Value key = fold_case(a.has(1) ? lookup_attribute(r, item, a.get(1)) : item, case_sensitive);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return python_equal(s, key); })) continue;
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value min_max(Renderer& r, const Value& v, CallArgs& args, bool want_max) {
  BoundArgs a(want_max ? "max" : "min", args, {"case_sensitive", "attribute"});
  const bool case_sensitive = a.get_bool(0, false);
  std::optional<Value> best;
  Value best_key;
  for (const Value& item : iterate(v)) {
    const Value key = fold_case(a.has(1) ? lookup_attribute(r, item, a.get(1)) : item, case_sensitive);
    if (!best || (want_max ? python_less(best_key, key) : python_less(key, best_key))) {
      best = item;
      best_key = key;
    }
  }
  if (!best) return Value::undefined("No aggregated item, sequence was empty.");
  return *best;
}

Value filter_sum(Renderer& r, const Value& v, CallArgs& args) {
  BoundArgs a("sum", args, {"attribute", "start"});
  Value total = a.get_or(1, Value::integer(0));
  for (const Value& item : iterate(v)) total = binary_op("+", total, a.has(0) ? lookup_attribute(r, item, a.get(0)) : item);
  return total;
}

Value filter_reverse(Renderer&, const Value& v, CallArgs& args) {
  no_args("reverse", args);
  if (v.is_string()) {
    std::u32string s = decode_utf8(v.as_string());
    std::reverse(s.begin(), s.end());
    return Value::string(encode_utf8(s));
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value filter_map(Renderer& r, const Value& v, CallArgs& args) {
  std::vector<Value> out;
  if (!v.truthy()) return Value::list({});
  if (args.positional.empty()) {
    std::optional<Value> attribute;
    std::optional<Value> fallback;
    for (const auto& [name, value] : args.keyword) {
      if (name == "attribute") {
        attribute = value;
      } else if (name == "default") {
        fallback = value;
      } else {
        fail("FilterArgumentError: Unexpected keyword argument '" + name + "'");
      }
    }
    if (!attribute) fail("FilterArgumentError: map requires a filter argument");
    for (const Value& item : iterate(v)) {
      Value mapped = lookup_attribute(r, item, *attribute);
      if (mapped.is_undefined() && fallback && !fallback->is_none()) mapped = *fallback;
      out.push_back(std::move(mapped));
    }
    return Value::list(std::move(out));
  }
  if (!args.positional[0].is_string()) fail("FilterArgumentError: map needs a filter name");
  const std::string name = args.positional[0].as_string();
  if (!is_known_filter(name)) fail("unknown filter '" + name + "'");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : iterate(v)) {
    CallArgs each = rest;
    out.push_back(apply_filter(r, name, item, each));
  }
  return Value::list(std::move(out));
}

// select / reject / selectattr / rejectattr.
Value select_or_reject(Renderer& r, const Value& v, CallArgs& args, bool keep_matching, bool by_attribute) {
  const char* filter_name = by_attribute ? (keep_matching ? "selectattr" : "rejectattr") : (keep_matching ? "select" : "reject");
  size_t next = 0;
  std::optional<Value> attribute;
  if (by_attribute) {
    if (args.positional.empty()) fail("FilterArgumentError: Missing parameter for attribute name");
    attribute = args.positional[next++];
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) fail(std::string("FilterArgumentError: ") + filter_name + " needs a test name");
    test = args.positional[next++].as_string();
    if (!is_known_test(*test)) fail("unknown test '" + *test + "'");
  }
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next), args.positional.end());
  test_args.keyword = args.keyword;
  std::vector<Value> out;
  if (!v.truthy()) return Value::list({});
  for (const Value& item : iterate(v)) {
    const Value subject = attribute ? lookup_attribute(r, item, *attribute) : item;
    bool matches;
    if (test) {
      CallArgs each = test_args;
      matches = apply_test(r, *test, subject, each);
    } else {
      matches = subject.truthy();
    }
    if (matches == keep_matching) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value filter_batch(Renderer&, const Value& v, CallArgs& args) {
  BoundArgs a("batch", args, {"linecount", "fill_with"});
  const int64_t count = a.get_int(0, 0);
  if (count <= 0) fail("ValueError: batch size must be positive");
  std::vector<Value> rows;
  std::vector<Value> row;
  for (const Value& item : iterate(v)) {
    row.push_back(item);
    if (static_cast<int64_t>(row.size()) == count) {
      rows.push_back(Value::list(std::move(row)));
      row.clear();
    }
  }
  if (!row.empty()) {
    if (a.has(1) && !a.get(1).is_none()) {
      while (static_cast<int64_t>(row.size()) < count) row.push_back(a.get(1));
    }
    rows.push_back(Value::list(std::move(row)));
  }
  return Value::list(std::move(rows));
}

Value filter_abs(Renderer&, const Value& v, CallArgs& args) {
  no_args("abs", args);
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) fail("TypeError: bad operand type for abs(): '" + v.type_name() + "'");
  if (v.is_float()) return Value::number(std::fabs(v.as_double()));
  return v.as_int() < 0 ? unary_op("-", v) : Value::integer(v.as_int());
}

Value filter_format(Renderer&, const Value& v, CallArgs& args) {
  if (!args.positional.empty() && !args.keyword.empty()) {
    fail("FilterArgumentError: can't handle positional and keyword arguments at the same time");
  }
  if (!args.keyword.empty()) fail("unsupported: |format with keyword arguments");
  return Value::string(percent_format(soft_str(v), args.positional));
}

Value filter_attr(Renderer& r, const Value& v, CallArgs& args) {
  BoundArgs a("attr", args, {"name"});
  const std::optional<std::string> name = a.get_string(0);
  if (!name) fail("TypeError: attr() needs an attribute name");
  // Attribute lookup only: methods and namespace attributes, never dict items.
  if (auto method = find_method(v, *name)) return *method;
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_namespace()) return r.get_attr(v, *name);
  return Value::undefined("'" + v.type_name() + " object' has no attribute '" + *name + "'");
}

Value string_filter(const Value& v, CallArgs& args, std::string_view name, std::string (*fn)(std::string_view)) {
  no_args(name, args);
  return Value::string(fn(soft_str(v)));
}

const std::unordered_map<std::string_view, FilterFn>& filters() {
  static const auto* table = new std::unordered_map<std::string_view, FilterFn>{
      {"abs", filter_abs},
      {"attr", filter_attr},
      {"batch", filter_batch},
      {"capitalize", [](Renderer&, const Value& v, CallArgs& a) { return string_filter(v, a, "capitalize", capitalize); }},
      {"center", filter_center},
      {"count", filter_length},
      {"d", filter_default},
      {"default", filter_default},
      {"dictsort", filter_dictsort},
      {"e",
       [](Renderer&, const Value& v, CallArgs& a) {
         no_args("e", a);
         return v.is_markup() ? v : Value::string(html_escape(soft_str(v)), true);
       }},
      {"escape",
       [](Renderer&, const Value& v, CallArgs& a) {
         no_args("escape", a);
         return v.is_markup() ? v : Value::string(html_escape(soft_str(v)), true);
       }},
      {"first", filter_first},
      {"float", filter_float},
      {"forceescape",
       [](Renderer&, const Value& v, CallArgs& a) {
         no_args("forceescape", a);
         return Value::string(html_escape(soft_str(v)), true);
       }},
      {"format", filter_format},
      {"indent", filter_indent},
      {"int", filter_int},
      {"items", filter_items},
      {"join", filter_join},
      {"last", filter_last},
      {"length", filter_length},
      {"list", filter_list},
      {"lower", [](Renderer&, const Value& v, CallArgs& a) { return string_filter(v, a, "lower", lower); }},
      {"map", filter_map},
      {"max", [](Renderer& r, const Value& v, CallArgs& a) { return min_max(r, v, a, true); }},
      {"min", [](Renderer& r, const Value& v, CallArgs& a) { return min_max(r, v, a, false); }},
      {"reject", [](Renderer& r, const Value& v, CallArgs& a) { return select_or_reject(r, v, a, false, false); }},
      {"rejectattr", [](Renderer& r, const Value& v, CallArgs& a) { return select_or_reject(r, v, a, false, true); }},
      {"replace", filter_replace},
      {"reverse", filter_reverse},
      {"round", filter_round},
      {"safe",
       [](Renderer&, const Value& v, CallArgs& a) {
         no_args("safe", a);
         return Value::string(soft_str(v), true);
       }},
      {"select", [](Renderer& r, const Value& v, CallArgs& a) { return select_or_reject(r, v, a, true, false); }},
      {"selectattr", [](Renderer& r, const Value& v, CallArgs& a) { return select_or_reject(r, v, a, true, true); }},
      {"sort", filter_sort},
      {"string",
       [](Renderer&, const Value& v, CallArgs& a) {
         no_args("string", a);
         return v.is_string() ? v : Value::string(soft_str(v));
       }},
      {"sum", filter_sum},
      {"title", filter_title},
      {"tojson", filter_tojson},
      {"trim", filter_trim},
      {"truncate", filter_truncate},
      {"unique", filter_unique},
      {"upper", [](Renderer&, const Value& v, CallArgs& a) { return string_filter(v, a, "upper", upper); }},
      {"wordcount", filter_wordcount},
  };
  return *table;
}

}  // namespace

bool is_known_filter(std::string_view name) { return filters().count(name) != 0; }

Value apply_filter(Renderer& r, std::string_view name, const Value& input, CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) fail("unknown filter '" + std::string(name) + "'");
  return it->second(r, input, args);
}

}  // namespace tandem::jinja
