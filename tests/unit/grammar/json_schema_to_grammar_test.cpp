#include "grammar/json_schema_to_grammar.h"

#include <gtest/gtest.h>

#include "grammar_test_util.h"

namespace tandem::grammar {
namespace {

using test::matches;
using test::schema_grammar;

TEST(JsonSchemaToGrammar, ObjectWithRequiredAndOptionalProperties) {
  auto g = schema_grammar(R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
      "ok":{"type":"boolean"}},"required":["name","ok"],"additionalProperties":false})");
  EXPECT_TRUE(matches(g, R"({"name":"Ann","age":31,"ok":true})"));
  EXPECT_TRUE(matches(g, R"({"name": "Ann", "ok": false})"));  // age skipped, one space allowed
  EXPECT_FALSE(matches(g, R"({"age":31,"ok":true})"));          // name is required
  EXPECT_FALSE(matches(g, R"({"name":"Ann","ok":true,"x":1})"));
  EXPECT_FALSE(matches(g, R"({"ok":true,"name":"Ann"})"));      // schema order
  EXPECT_FALSE(matches(g, R"({"name":"Ann",,"ok":true})"));
  EXPECT_FALSE(matches(g, R"({"name":"Ann","age":031,"ok":true})"));
  EXPECT_FALSE(matches(g, R"({"name":"Ann","ok":true} )"));     // nothing after the value
}

TEST(JsonSchemaToGrammar, AllOptionalPropertiesNeedNoLeadingComma) {
  auto g = schema_grammar(R"({"type":"object","properties":{"a":{"type":"null"},"b":{"type":"null"}}})");
  EXPECT_TRUE(matches(g, "{}"));
  EXPECT_TRUE(matches(g, R"({"b":null})"));
  EXPECT_TRUE(matches(g, R"({"a":null,"b":null})"));
  EXPECT_FALSE(matches(g, R"({,"b":null})"));
  EXPECT_FALSE(matches(g, R"({"a":null,})"));
}

TEST(JsonSchemaToGrammar, EnumConstAndAnyOf) {
  auto g = schema_grammar(R"({"anyOf":[{"enum":["red","green",3]},{"const":{"k":[1,2]}},{"type":"null"}]})");
  EXPECT_TRUE(matches(g, R"("red")"));
  EXPECT_TRUE(matches(g, "3"));
  EXPECT_TRUE(matches(g, R"({"k":[1,2]})"));
  EXPECT_TRUE(matches(g, "null"));
  EXPECT_FALSE(matches(g, R"("blue")"));
  EXPECT_FALSE(matches(g, "4"));
}

TEST(JsonSchemaToGrammar, ArrayBounds) {
  auto g = schema_grammar(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})");
  EXPECT_FALSE(matches(g, "[]"));
  EXPECT_FALSE(matches(g, "[1]"));
  EXPECT_TRUE(matches(g, "[1,2]"));
  EXPECT_TRUE(matches(g, "[1, -2, 3]"));
  EXPECT_FALSE(matches(g, "[1,2,3,4]"));
  auto any = schema_grammar(R"({"type":"array"})");
  EXPECT_TRUE(matches(any, "[]"));
  EXPECT_TRUE(matches(any, R"([{"a":[true,null]},"x",1.5e3])"));
}

TEST(JsonSchemaToGrammar, StringLengthsAndEscapes) {
  auto g = schema_grammar(R"({"type":"string","minLength":2,"maxLength":3})");
  EXPECT_FALSE(matches(g, R"("a")"));
  EXPECT_TRUE(matches(g, R"("ab")"));
  EXPECT_TRUE(matches(g, R"("a\"\u00e9")"));  // escapes count as one character
  EXPECT_TRUE(matches(g, "\"\xc3\xa9\xe2\x82\xac\""));
  EXPECT_FALSE(matches(g, R"("abcd")"));
  EXPECT_FALSE(matches(g, "\"a\nb\""));         // raw control characters are not JSON
  EXPECT_FALSE(matches(g, "\"a\xc3\""));        // a broken UTF-8 character
  EXPECT_FALSE(matches(g, R"("\udc12")"));      // a lone surrogate: strict parsers refuse it
  EXPECT_TRUE(matches(g, R"("a\uD7ff")"));
}

TEST(JsonSchemaToGrammar, IntegerRanges) {
  auto g = schema_grammar(R"({"type":"integer","minimum":-15,"maximum":120})");
  for (int i = -15; i <= 120; ++i) EXPECT_TRUE(matches(g, std::to_string(i))) << i;
  for (int i : {-16, -100, 121, 200, 1000}) EXPECT_FALSE(matches(g, std::to_string(i))) << i;
  EXPECT_FALSE(matches(g, "-0"));
  EXPECT_FALSE(matches(g, "007"));
  auto negative = schema_grammar(R"({"type":"integer","minimum":-120,"exclusiveMaximum":-15})");
  for (int i = -120; i < -15; ++i) EXPECT_TRUE(matches(negative, std::to_string(i))) << i;
  for (int i : {-121, -15, -1, 0, 5}) EXPECT_FALSE(matches(negative, std::to_string(i))) << i;
  auto positive = schema_grammar(R"({"type":"integer","exclusiveMinimum":0})");
  EXPECT_TRUE(matches(positive, "1"));
  EXPECT_TRUE(matches(positive, "123456"));
  EXPECT_FALSE(matches(positive, "0"));
  EXPECT_FALSE(matches(positive, "-3"));
}

TEST(JsonSchemaToGrammar, Numbers) {
  auto g = schema_grammar(R"({"type":"number"})");
  for (const char* ok : {"0", "-1", "3.25", "1e5", "-0.5E-3"}) EXPECT_TRUE(matches(g, ok)) << ok;
  for (const char* bad : {"01", ".5", "1.", "+1", "1e", "NaN"}) EXPECT_FALSE(matches(g, bad)) << bad;
  auto non_negative = schema_grammar(R"({"type":"number","minimum":0})");
  EXPECT_TRUE(matches(non_negative, "2.5"));
  EXPECT_FALSE(matches(non_negative, "-2.5"));
  auto unit = schema_grammar(R"({"type":"number","minimum":0,"maximum":1})");
  for (const char* ok : {"0", "0.25", "0.999", "1", "1.0"}) EXPECT_TRUE(matches(unit, ok)) << ok;
  for (const char* bad : {"1.5", "1.01", "-0.1", "2", "1e0"}) EXPECT_FALSE(matches(unit, bad)) << bad;
  auto below_five = schema_grammar(R"({"type":"number","minimum":2,"exclusiveMaximum":5})");
  for (const char* ok : {"2", "2.5", "4.999"}) EXPECT_TRUE(matches(below_five, ok)) << ok;
  for (const char* bad : {"5", "1.9", "5.5"}) EXPECT_FALSE(matches(below_five, bad)) << bad;
  auto odd = schema_grammar(R"({"type":"number","minimum":0.5,"maximum":3.5})");
  for (const char* ok : {"0.5", "0.7", "3", "3.5", "3.50"}) EXPECT_TRUE(matches(odd, ok)) << ok;
  for (const char* bad : {"0", "0.49", "3.51", "4"}) EXPECT_FALSE(matches(odd, bad)) << bad;
  auto mixed = schema_grammar(R"({"type":"number","minimum":-2.75,"exclusiveMaximum":0.5})");
  for (const char* ok : {"-2.75", "-1", "-0.5", "0", "0.499"}) EXPECT_TRUE(matches(mixed, ok)) << ok;
  for (const char* bad : {"-2.751", "-3", "0.5", "-0", "1"}) EXPECT_FALSE(matches(mixed, bad)) << bad;
  // More in json_number_range_test.cpp.
}

TEST(JsonSchemaToGrammar, Formats) {
  auto date = schema_grammar(R"({"type":"string","format":"date"})");
  EXPECT_TRUE(matches(date, R"("2024-02-28")"));
  EXPECT_TRUE(matches(date, R"("1999-12-31")"));
  EXPECT_FALSE(matches(date, R"("2024-02-30")"));
  EXPECT_FALSE(matches(date, R"("2024-13-01")"));
  auto date_time = schema_grammar(R"({"type":"string","format":"date-time"})");
  EXPECT_TRUE(matches(date_time, R"("2024-05-06T07:08:09Z")"));
  EXPECT_TRUE(matches(date_time, R"("2024-05-06T07:08:09.123+02:00")"));
  EXPECT_FALSE(matches(date_time, R"("2024-05-06 07:08:09Z")"));
  auto time = schema_grammar(R"({"type":"string","format":"time"})");
  EXPECT_TRUE(matches(time, R"("23:59:59Z")"));
  EXPECT_FALSE(matches(time, R"("24:00:00Z")"));
  auto uuid = schema_grammar(R"({"type":"string","format":"uuid"})");
  EXPECT_TRUE(matches(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
  EXPECT_FALSE(matches(uuid, R"("123e4567e89b12d3a456426614174000")"));
  auto email = schema_grammar(R"({"type":"string","format":"email"})");
  EXPECT_TRUE(matches(email, R"("ann.lee@example.co.uk")"));
  EXPECT_FALSE(matches(email, R"("ann.lee")"));
}

TEST(JsonSchemaToGrammar, Patterns) {
  auto g = schema_grammar(R"({"type":"string","pattern":"^[A-Z]{2}-\\d{3,4}(x|yz)?$"})");
  EXPECT_TRUE(matches(g, R"("AB-123")"));
  EXPECT_TRUE(matches(g, R"("AB-1234yz")"));
  EXPECT_FALSE(matches(g, R"("AB-12")"));
  EXPECT_FALSE(matches(g, R"("ab-123")"));
  auto unanchored = schema_grammar(R"({"type":"string","pattern":"cat"})");
  EXPECT_TRUE(matches(unanchored, R"("a cat!")"));
  EXPECT_FALSE(matches(unanchored, R"("a dog")"));
  auto quote = schema_grammar(R"({"type":"string","pattern":"^[\"a]+$"})");
  EXPECT_TRUE(matches(quote, R"("a\"a")"));  // the quote is escaped inside the JSON string
}

TEST(JsonSchemaToGrammar, RefsAndRecursion) {
  auto g = schema_grammar(R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"]}}})");
  EXPECT_TRUE(matches(g, R"({"v":1,"next":{"v":2,"next":null}})"));
  EXPECT_FALSE(matches(g, R"({"v":1,"next":{"v":2}})"));
}

TEST(JsonSchemaToGrammar, JsonObjectAcceptsAnyObjectOnly) {
  GrammarMatcher m(json_object_grammar(), test::toy_trie());
  EXPECT_TRUE(m.accept_bytes(R"({"a": [1, {"b": null}], "c": "d"})"));
  EXPECT_TRUE(m.is_complete());
  GrammarMatcher array(json_object_grammar(), test::toy_trie());
  EXPECT_FALSE(array.accept_bytes("["));
}

TEST(JsonSchemaToGrammar, PrefixAndSuffixForToolCalls) {
  auto g = json_schema_grammar(nlohmann::json::parse(R"({"type":"object","properties":{"name":{"const":"f"}},
      "required":["name"]})"),
                               "<tool_call>\n", "\n</tool_call>");
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_TRUE(matches(*g, "<tool_call>\n{\"name\":\"f\"}\n</tool_call>"));
  EXPECT_FALSE(matches(*g, "{\"name\":\"f\"}"));
}

TEST(JsonSchemaToGrammar, UnsupportedKeywordsAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type":"number","multipleOf":3})", "multipleOf"},
      {R"({"type":"object","patternProperties":{"a":{}}})", "patternProperties"},
      {R"({"type":"string","format":"hostname"})", "hostname"},
      {R"({"type":"string","pattern":"(?=a)b"})", "lookaround"},
      {R"({"type":"string","pattern":"(a)\\1"})", "\\1"},
      {R"({"type":"array","uniqueItems":true})", "uniqueItems"},
      {R"({"allOf":[{"type":"string"},{"maxLength":3}]})", "allOf"},
      {R"({"$ref":"https://example.com/s.json"})", "$ref"},
      {R"({"$ref":"#/$defs/missing"})", "points to nothing"},
      {R"({"type":"string","maxLength":100000})", "maxLength"},
      {R"({"type":"integer","minimum":5,"maximum":1})", "no integer"},
      {R"({"type":"strin"})", "unknown type"},
      {R"({"properties":{"a":{"type":"object","foo":1}}})", "#/properties/a"},
      {"false", "false"},
  };
  for (const auto& [schema, expected] : cases) {
    auto g = json_schema_grammar(nlohmann::ordered_json::parse(schema));
    ASSERT_FALSE(g.ok()) << schema;
    EXPECT_NE(g.error().find(expected), std::string::npos) << schema << " -> " << g.error();
  }
}

TEST(JsonSchemaToGrammar, LeftRecursiveRefIsRefused) {
  auto g = json_schema_grammar(nlohmann::ordered_json::parse(R"({"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}})"));
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().find("loop"), std::string::npos) << g.error();
}

}  // namespace
}  // namespace tandem::grammar
