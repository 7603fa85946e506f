#include "grammar/json_schema_to_grammar.h"

#include <optional>
#include <set>

#include "grammar/json_number_range.h"
#include "grammar/regex_to_grammar.h"

namespace tandem::grammar {
namespace {

using json = nlohmann::ordered_json;

const std::set<std::string, std::less<>> kAnnotations = {
    "title",    "description", "default",       "examples",        "$schema",          "$id",
    "$comment", "deprecated",  "readOnly",      "writeOnly",       "discriminator",    "contentEncoding",
    "contentMediaType",        "$defs",         "definitions"};

const std::set<std::string, std::less<>> kValidation = {
    "type",      "enum",      "const",         "anyOf",         "oneOf",           "allOf",
    "$ref",      "nullable",  "properties",    "required",      "additionalProperties",
    "unevaluatedProperties",  "items",         "minItems",      "maxItems",        "uniqueItems",
    "minLength", "maxLength", "pattern",       "format",        "minimum",         "maximum",
    "exclusiveMinimum",       "exclusiveMaximum"};

// Formats as anchored regular expressions (regex_to_grammar). Dates: every month's real days
// (29 February is left out rather than checking leap years), so Python's date.fromisoformat
// accepts every one.
const std::map<std::string, std::string, std::less<>> kFormats = {
    {"date", R"(^\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))$)"},
    {"time", R"(^(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$)"},
    {"date-time",
     R"(^\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8]))T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$)"},
    {"uuid", R"(^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)"},
    // Short parts: a small model that starts repeating inside an address still ends it soon.
    {"email", R"(^[A-Za-z0-9._%+-]{1,24}@[A-Za-z0-9-]{1,20}(?:\.[A-Za-z]{2,6}){1,2}$)"},
    {"ipv4", R"(^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$)"},
};

ExprPtr digit() { return bytes(ByteSet{}.add_range('0', '9')); }
ExprPtr ws() { return optional(literal(" ")); }

constexpr uint32_t kMaxFractionDigits = 15;

// Any JSON number of at most 16 integer digits, 15 fraction digits and a two-digit exponent.
ExprPtr any_number() {
  return sequence({optional(literal("-")), choice({literal("0"), sequence({bytes(ByteSet{}.add_range('1', '9')), repeat(digit(), 0, 15)})}),
                   optional(sequence({literal("."), repeat(digit(), 1, kMaxFractionDigits)})),
                   optional(sequence({bytes(ByteSet{}.add('e').add('E')), optional(bytes(ByteSet{}.add('+').add('-'))),
                                      repeat(digit(), 1, 2)}))});
}

std::string quote(const std::string& text) { return json(text).dump(); }

}  // namespace

void JsonSchemaCompiler::fail(const std::string& path, const std::string& message) {
  throw Failure{message + " (at " + path + ")"};
}

JsonSchemaCompiler::JsonSchemaCompiler(GrammarBuilder& builder) : b_(builder) {}

ExprPtr JsonSchemaCompiler::named(const std::string& name, const std::function<ExprPtr()>& body) {
  if (auto it = shared_.find(name); it != shared_.end()) return b_.ref(it->second);
  const uint32_t rule = b_.add_rule(name);
  shared_[name] = rule;
  b_.define(rule, body());
  return b_.ref(rule);
}

ExprPtr JsonSchemaCompiler::quoted(ExprPtr inside) const { return sequence({literal("\""), std::move(inside), literal("\"")}); }

ExprPtr JsonSchemaCompiler::any_value() {
  return named("value", [&] {
    const ExprPtr value = b_.ref(shared_.at("value"));
    const ExprPtr chars = named("char", [] { return json_string_char(); });
    const ExprPtr string = named("string", [&] { return quoted(repeat(chars, 0, kUnbounded)); });
    const ExprPtr number = named("number", [] { return any_number(); });
    const ExprPtr member = sequence({string, literal(":"), ws(), value});
    const ExprPtr object = named("object", [&] {
      return sequence({literal("{"), optional(sequence({member, repeat(sequence({literal(","), ws(), member}), 0, kUnbounded)})),
                       literal("}")});
    });
    const ExprPtr array = named("array", [&] {
      return sequence({literal("["), optional(sequence({value, repeat(sequence({literal(","), ws(), value}), 0, kUnbounded)})),
                       literal("]")});
    });
    return choice({object, array, string, number, literal("true"), literal("false"), literal("null")});
  });
}

ExprPtr JsonSchemaCompiler::any_object() {
  any_value();
  return b_.ref(shared_.at("object"));
}

Result<ExprPtr> JsonSchemaCompiler::compile(const nlohmann::json& schema) {
  const json ordered = json::parse(schema.dump());
  return compile(ordered);
}

Result<ExprPtr> JsonSchemaCompiler::compile(const json& schema) {
  root_ = &schema;
  refs_.clear();  // keyed by nodes of the previous schema, which may be gone
  try {
    return value(schema, "#");
  } catch (const Failure& f) {
    return make_error(f.message);
  } catch (const json::exception& e) {
    return make_error(std::string("the schema could not be read: ") + e.what());
  }
}

ExprPtr JsonSchemaCompiler::value(const json& s, const std::string& path) {
  if (s.is_boolean()) {
    if (!s.get<bool>()) fail(path, "the schema false matches nothing");
    return any_value();
  }
  if (!s.is_object()) fail(path, "a schema must be an object or a boolean");
  std::vector<std::string> validation;
  for (const auto& [key, unused] : s.items()) {
    (void)unused;
    if (kAnnotations.count(key)) continue;
    if (!kValidation.count(key)) {
      fail(path, "the JSON schema keyword \"" + key + "\" is not supported; remove it or see docs/OPENAI_API.md");
    }
    validation.push_back(key);
  }
  auto only = [&](std::initializer_list<std::string_view> allowed, const std::string& keyword) {
    for (const std::string& key : validation) {
      if (key == keyword) continue;
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      fail(path, "\"" + keyword + "\" together with \"" + key + "\" is not supported; use one of them");
    }
  };
  ExprPtr result;
  if (s.contains("$ref")) {
    only({}, "$ref");
    result = reference(s, path);
  } else if (s.contains("const")) {
    only({"type", "nullable"}, "const");
    result = literal(s["const"].dump());
  } else if (s.contains("enum")) {
    only({"type", "nullable"}, "enum");
    const json& values = s["enum"];
    if (!values.is_array() || values.empty()) fail(path + "/enum", "enum must be a non-empty array");
    std::vector<ExprPtr> alternatives;
    for (const json& v : values) alternatives.push_back(literal(v.dump()));
    result = choice(std::move(alternatives));
  } else if (s.contains("anyOf") || s.contains("oneOf") || s.contains("allOf")) {
    const std::string keyword = s.contains("anyOf") ? "anyOf" : s.contains("oneOf") ? "oneOf" : "allOf";
    only({"nullable"}, keyword);
    const json& branches = s[keyword];
    if (!branches.is_array() || branches.empty()) fail(path + "/" + keyword, keyword + " must be a non-empty array");
    if (keyword == "allOf" && branches.size() != 1) {
      fail(path + "/allOf", "allOf with more than one schema is not supported; merge them into one schema");
    }
    std::vector<ExprPtr> alternatives;
    for (size_t i = 0; i < branches.size(); ++i) {
      alternatives.push_back(value(branches[i], path + "/" + keyword + "/" + std::to_string(i)));
    }
    result = choice(std::move(alternatives));
  } else if (const json* type = s.contains("type") ? &s["type"] : nullptr) {
    if (type->is_string()) {
      result = typed(s, type->get<std::string>(), path);
    } else if (type->is_array() && !type->empty()) {
      std::vector<ExprPtr> alternatives;
      for (const json& t : *type) {
        if (!t.is_string()) fail(path + "/type", "type must be a string or an array of strings");
        alternatives.push_back(typed(s, t.get<std::string>(), path));
      }
      result = choice(std::move(alternatives));
    } else {
      fail(path + "/type", "type must be a string or a non-empty array of strings");
    }
  } else {
    // No type: the keywords say which one; none at all accepts any value.
    auto has = [&](std::initializer_list<const char*> keys) {
      return std::any_of(keys.begin(), keys.end(), [&](const char* k) { return s.contains(k); });
    };
    if (has({"properties", "required", "additionalProperties", "unevaluatedProperties"})) {
      result = typed(s, "object", path);
    } else if (has({"items", "minItems", "maxItems", "uniqueItems"})) {
      result = typed(s, "array", path);
    } else if (has({"minLength", "maxLength", "pattern", "format"})) {
      result = typed(s, "string", path);
    } else if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})) {
      result = typed(s, "number", path);
    } else {
      result = any_value();
    }
  }
  if (const auto it = s.find("nullable"); it != s.end()) {
    if (!it->is_boolean()) fail(path + "/nullable", "nullable must be true or false");
    if (it->get<bool>()) result = choice({result, literal("null")});
  }
  return result;
}

ExprPtr JsonSchemaCompiler::typed(const json& s, const std::string& type, const std::string& path) {
  if (type == "object") return object(s, path);
  if (type == "array") return array(s, path);
  if (type == "string") return string(s, path);
  if (type == "integer") return integer(s, path);
  if (type == "number") return number(s, path);
  if (type == "boolean") return choice({literal("true"), literal("false")});
  if (type == "null") return literal("null");
  fail(path + "/type", "unknown type \"" + type + "\"; use object, array, string, integer, number, boolean or null");
}

ExprPtr JsonSchemaCompiler::reference(const json& s, const std::string& path) {
  const json& ref = s["$ref"];
  if (!ref.is_string()) fail(path + "/$ref", "$ref must be a string");
  const std::string target = ref.get<std::string>();
  if (target.empty() || target[0] != '#') {
    fail(path + "/$ref", "only references inside the schema (\"#/$defs/...\") are supported, got \"" + target + "\"");
  }
  const json* node = nullptr;
  try {
    node = &root_->at(json::json_pointer(target.substr(1)));
  } catch (const json::exception&) {
    fail(path + "/$ref", "the reference \"" + target + "\" points to nothing in the schema");
  }
  if (auto it = refs_.find(node); it != refs_.end()) return b_.ref(it->second);
  const uint32_t rule = b_.add_rule(target);
  refs_[node] = rule;  // before compiling the target, so that it may refer to itself
  b_.define(rule, value(*node, target));
  return b_.ref(rule);
}

ExprPtr JsonSchemaCompiler::object(const json& s, const std::string& path) {
  struct Property {
    std::string name;
    const json* schema;
    bool required;
  };
  static const json kAny = true;
  std::vector<Property> properties;
  std::set<std::string> required;
  if (const auto it = s.find("required"); it != s.end()) {
    if (!it->is_array()) fail(path + "/required", "required must be an array of property names");
    for (const json& name : *it) {
      if (!name.is_string()) fail(path + "/required", "required must be an array of property names");
      required.insert(name.get<std::string>());
    }
  }
  if (const auto it = s.find("properties"); it != s.end()) {
    if (!it->is_object()) fail(path + "/properties", "properties must be an object");
    for (const auto& [name, schema] : it->items()) properties.push_back({name, &schema, required.count(name) > 0});
  }
  const json* additional = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
  const bool closed = (additional && additional->is_boolean() && !additional->get<bool>()) ||
                      (s.contains("unevaluatedProperties") && s["unevaluatedProperties"] == false);
  if (s.contains("unevaluatedProperties") && s["unevaluatedProperties"] != false) {
    fail(path + "/unevaluatedProperties", "unevaluatedProperties is supported only as false");
  }
  if (additional && !additional->is_boolean() && !additional->is_object()) {
    fail(path + "/additionalProperties", "additionalProperties must be a boolean or a schema");
  }
  // Required names not listed under properties take the additionalProperties schema.
  for (const std::string& name : required) {
    const bool listed = std::any_of(properties.begin(), properties.end(), [&](const Property& p) { return p.name == name; });
    if (listed) continue;
    if (closed) {
      fail(path + "/required", "\"" + name + "\" is required but not in properties, and additionalProperties is false");
    }
    properties.push_back({name, additional && additional->is_object() ? additional : &kAny, true});
  }

  if (properties.empty()) {
    if (closed) return literal("{}");
    if (additional && additional->is_object()) {
      const ExprPtr v = value(*additional, path + "/additionalProperties");
      const ExprPtr chars = named("char", [] { return json_string_char(); });
      const ExprPtr member = sequence({quoted(repeat(chars, 0, kUnbounded)), literal(":"), ws(), v});
      return sequence({literal("{"), optional(sequence({member, repeat(sequence({literal(","), ws(), member}), 0, kUnbounded)})),
                       literal("}")});
    }
    return any_object();
  }

  // Properties in order, each optional one skippable, commas only between those present:
  // first_i is "nothing written yet, properties i.. to come", later_i "something written".
  const size_t n = properties.size();
  std::vector<uint32_t> first(n + 1), later(n + 1);
  for (size_t i = 0; i <= n; ++i) {
    first[i] = b_.add_rule(path + "#first" + std::to_string(i));
    later[i] = b_.add_rule(path + "#later" + std::to_string(i));
  }
  b_.define(first[n], empty());
  b_.define(later[n], empty());
  for (size_t i = n; i-- > 0;) {
    const Property& p = properties[i];
    const uint32_t kv = b_.add_rule(path + "/properties/" + p.name);
    b_.define(kv, sequence({literal(quote(p.name)), literal(":"), ws(), value(*p.schema, path + "/properties/" + p.name)}));
    const ExprPtr written = sequence({b_.ref(kv), b_.ref(later[i + 1])});
    const ExprPtr after_comma = sequence({literal(","), ws(), b_.ref(kv), b_.ref(later[i + 1])});
    if (p.required) {
      b_.define(first[i], written);
      b_.define(later[i], after_comma);
    } else {
      b_.define(first[i], choice({written, b_.ref(first[i + 1])}));
      b_.define(later[i], choice({after_comma, b_.ref(later[i + 1])}));
    }
  }
  return sequence({literal("{"), b_.ref(first[0]), literal("}")});
}

ExprPtr JsonSchemaCompiler::array(const json& s, const std::string& path) {
  auto bound = [&](const char* key, uint32_t fallback) {
    const auto it = s.find(key);
    if (it == s.end()) return fallback;
    if (!it->is_number_integer() && !it->is_number_unsigned()) fail(path + "/" + key, std::string(key) + " must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < 0 || v > kMaxItemsBound) {
      fail(path + "/" + key, std::string(key) + " must be between 0 and " + std::to_string(kMaxItemsBound));
    }
    return static_cast<uint32_t>(v);
  };
  const uint32_t min = bound("minItems", 0);
  const uint32_t max = bound("maxItems", kUnbounded);
  if (max != kUnbounded && max < min) fail(path + "/maxItems", "maxItems is below minItems: no array fits");
  if (s.contains("uniqueItems") && s["uniqueItems"] == true && max > 1) {
    fail(path + "/uniqueItems", "uniqueItems cannot be enforced while generating; remove it or set maxItems to 1");
  }
  if (max == 0) return literal("[]");
  ExprPtr item;
  if (const auto it = s.find("items"); it != s.end()) {
    const uint32_t rule = b_.add_rule(path + "/items");
    b_.define(rule, value(*it, path + "/items"));
    item = b_.ref(rule);
  } else {
    item = any_value();
  }
  const ExprPtr more = repeat(sequence({literal(","), ws(), item}), min > 0 ? min - 1 : 0,
                              max == kUnbounded ? kUnbounded : max - 1);
  const ExprPtr items = sequence({item, more});
  return sequence({literal("["), min > 0 ? items : optional(items), literal("]")});
}

ExprPtr JsonSchemaCompiler::string(const json& s, const std::string& path) {
  const ExprPtr chars = named("char", [] { return json_string_char(); });
  const bool has_length = s.contains("minLength") || s.contains("maxLength");
  std::string pattern;
  std::string source;
  if (const auto it = s.find("format"); it != s.end()) {
    if (!it->is_string()) fail(path + "/format", "format must be a string");
    const auto f = kFormats.find(it->get<std::string>());
    if (f == kFormats.end()) {
      fail(path + "/format", "the string format \"" + it->get<std::string>() +
                                 "\" is not supported; use date, time, date-time, uuid, email, ipv4 or a pattern");
    }
    pattern = f->second;
    source = "format";
  }
  if (const auto it = s.find("pattern"); it != s.end()) {
    if (!source.empty()) fail(path + "/pattern", "pattern together with format is not supported; use one of them");
    if (!it->is_string()) fail(path + "/pattern", "pattern must be a string");
    pattern = it->get<std::string>();
    source = "pattern";
  }
  if (!source.empty()) {
    if (has_length) fail(path + "/" + source, source + " together with minLength/maxLength is not supported; put the length in the pattern");
    auto inside = regex_to_grammar(pattern, chars);
    if (!inside) fail(path + "/" + source, inside.error());
    return quoted(std::move(inside).value());
  }
  auto bound = [&](const char* key, uint32_t fallback) {
    const auto it = s.find(key);
    if (it == s.end()) return fallback;
    if (!it->is_number_integer() && !it->is_number_unsigned()) fail(path + "/" + key, std::string(key) + " must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < 0 || v > kMaxLengthBound) {
      fail(path + "/" + key, std::string(key) + " must be between 0 and " + std::to_string(kMaxLengthBound));
    }
    return static_cast<uint32_t>(v);
  };
  const uint32_t min = bound("minLength", 0);
  const uint32_t max = bound("maxLength", kUnbounded);
  if (max != kUnbounded && max < min) fail(path + "/maxLength", "maxLength is below minLength: no string fits");
  return quoted(repeat(chars, min, max));
}

ExprPtr JsonSchemaCompiler::bounded(const json& s, const std::string& path, uint32_t max_fraction_digits) {
  // Bounds as numbers (draft 6 and later; draft 4's boolean exclusiveMinimum is refused).
  std::optional<DecimalBound> lower, upper;
  for (const char* key : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}) {
    const auto it = s.find(key);
    if (it == s.end()) continue;
    if (!it->is_number()) fail(path + "/" + key, std::string(key) + " must be a number");
    const std::string_view k = key;
    const DecimalBound bound = decimal_bound(*it, k.starts_with("exclusive"));
    if (k == "minimum" || k == "exclusiveMinimum") lower = lower ? tighter_lower(*lower, bound) : bound;
    if (k == "maximum" || k == "exclusiveMaximum") upper = upper ? tighter_upper(*upper, bound) : bound;
  }
  ExprPtr numbers = bounded_number(lower, upper, max_fraction_digits);
  if (!numbers) {
    fail(path, std::string("the bounds (minimum, maximum, ...) leave no ") +
                   (max_fraction_digits == 0 ? "integer (of at most 16 digits)" : "number (of at most 16 integer digits)"));
  }
  return numbers;
}

ExprPtr JsonSchemaCompiler::integer(const json& s, const std::string& path) { return bounded(s, path, 0); }

ExprPtr JsonSchemaCompiler::number(const json& s, const std::string& path) {
  const bool has_bounds = s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
                          s.contains("exclusiveMaximum");
  // Bounded numbers have no exponent: "1e-3" would need its value compared with the bounds.
  if (has_bounds) return bounded(s, path, kMaxFractionDigits);
  return named("number", [] { return any_number(); });
}

Result<std::shared_ptr<const Grammar>> json_schema_grammar(const nlohmann::json& schema, std::string_view prefix,
                                                           std::string_view suffix) {
  return json_schema_grammar(json::parse(schema.dump()), prefix, suffix);
}

Result<std::shared_ptr<const Grammar>> json_schema_grammar(const json& schema, std::string_view prefix,
                                                           std::string_view suffix) {
  GrammarBuilder builder;
  JsonSchemaCompiler compiler(builder);
  auto body = compiler.compile(schema);
  if (!body) return Error{body.error()};
  return std::move(builder).build(sequence({literal(prefix), std::move(body).value(), literal(suffix)}));
}

std::shared_ptr<const Grammar> json_object_grammar() {
  GrammarBuilder builder;
  JsonSchemaCompiler compiler(builder);
  const ExprPtr object = compiler.any_object();
  auto grammar = std::move(builder).build(object);
  TANDEM_CHECK_MSG(grammar.ok(), "the JSON object grammar is well formed");
  return std::move(grammar).value();
}

}  // namespace tandem::grammar
