#pragma once
// JSON Schema to grammar: the JSON texts a schema accepts, as grammar expressions, so that a
// GrammarMatcher can keep a generation inside them (OpenAI's response_format, and tool calls).
//
// The output is compact JSON: no whitespace except one optional space after ':' and ','. Object
// properties come in the schema's order. Numbers have at most 16 integer digits, 15 fraction
// digits and a two-digit exponent; a number with bounds has no exponent and at most 15 significant
// digits (json_number_range.h). Every text the grammar accepts validates against the schema.
//
// Supported keywords:
//   type (one or a list; "integer", "number", "string", "boolean", "null", "object", "array"),
//   enum, const, anyOf, oneOf (its branches must not overlap: the grammar allows any branch),
//   allOf with one schema, $ref to "#", "#/$defs/..." or "#/definitions/..." (recursion allowed),
//   nullable (OpenAPI),
//   objects: properties, required, additionalProperties (false, true or a schema; with
//     properties listed, only those are generated), unevaluatedProperties: false,
//   arrays: items, minItems, maxItems (up to kMaxItemsBound), uniqueItems only with maxItems <= 1,
//   strings: minLength, maxLength (characters, up to kMaxLengthBound), pattern (see
//     regex_to_grammar.h), format date, time, date-time, uuid, email, ipv4,
//   integers and numbers: minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers as in
//     draft 6+; any decimal, negative or fractional, compared exactly: minimum 0, maximum 1 gives
//     0, 0.25, 1, 1.0, ...),
//   annotations (ignored): title, description, default, examples, $schema, $id, $comment,
//     deprecated, readOnly, writeOnly, discriminator, contentEncoding, contentMediaType, $defs,
//     definitions.
// Anything else is an error naming the keyword and where it is ("#/properties/age"), because a
// keyword the grammar ignored could let through a reply that does not validate.
//
// For tool calls (engineer E): compose literal text around a schema in one grammar:
//   GrammarBuilder b;
//   JsonSchemaCompiler compiler(b);
//   auto call = compiler.compile(call_schema);                  // Result<ExprPtr>
//   if (!call) return error(call.error());
//   auto grammar = std::move(b).build(sequence({literal("<tool_call>\n"), *call, literal("\n</tool_call>")}));
// or, for the common case, json_schema_grammar(call_schema, "<tool_call>\n", "\n</tool_call>").
// Several calls: repeat(...) or choice({...}) of such sequences; each compile() may take its own
// schema (its $refs resolve within it). Several tools: one schema with anyOf over
// {"type":"object","properties":{"name":{"const":"f"},"arguments":{...}},"required":["name","arguments"]}.
// The grammar applies to a request through SamplingParams::grammar (sampling_params.h).

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "grammar/grammar.h"

namespace tandem::grammar {

inline constexpr uint32_t kMaxLengthBound = 4096;  // maxLength / minLength above this: an error
inline constexpr uint32_t kMaxItemsBound = 1024;   // maxItems / minItems above this: an error

class JsonSchemaCompiler {
 public:
  explicit JsonSchemaCompiler(GrammarBuilder& builder);

  // The JSON texts that validate against `schema` (a JSON Schema: an object, or true/false).
  // The message of an error names the keyword and its location, and says what to change.
  // Properties are generated in the order of the ordered_json; nlohmann::json sorts them.
  Result<ExprPtr> compile(const nlohmann::ordered_json& schema);
  Result<ExprPtr> compile(const nlohmann::json& schema);

  ExprPtr any_value();   // any JSON value
  ExprPtr any_object();  // any JSON object: {"type": "json_object"}

 private:
  struct Failure {
    std::string message;
  };
  [[noreturn]] static void fail(const std::string& path, const std::string& message);
  ExprPtr value(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr typed(const nlohmann::ordered_json& s, const std::string& type, const std::string& path);
  ExprPtr object(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr array(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr string(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr integer(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr number(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr bounded(const nlohmann::ordered_json& s, const std::string& path, uint32_t max_fraction_digits);
  ExprPtr reference(const nlohmann::ordered_json& s, const std::string& path);
  ExprPtr quoted(ExprPtr inside) const;
  ExprPtr named(const std::string& name, const std::function<ExprPtr()>& body);

  GrammarBuilder& b_;
  const nlohmann::ordered_json* root_ = nullptr;
  std::map<std::string, uint32_t> shared_;             // rules shared by every schema ("char", "value", ...)
  std::map<const nlohmann::ordered_json*, uint32_t> refs_;     // $ref targets, by the node they point to
};

// The grammar for prefix + (a JSON text valid against schema) + suffix.
Result<std::shared_ptr<const Grammar>> json_schema_grammar(const nlohmann::ordered_json& schema, std::string_view prefix = "",
                                                           std::string_view suffix = "");
Result<std::shared_ptr<const Grammar>> json_schema_grammar(const nlohmann::json& schema, std::string_view prefix = "",
                                                           std::string_view suffix = "");
// Any JSON object (OpenAI's {"type": "json_object"}).
std::shared_ptr<const Grammar> json_object_grammar();

}  // namespace tandem::grammar
