// response_format in the chat request parser: the grammar it attaches, and 400s that name
// response_format and the schema keyword the grammar cannot enforce.

#include <gtest/gtest.h>

#include "grammar/grammar_matcher.h"
#include "openai/completion_request.h"

namespace tandem::openai {
namespace {

ParsedRequest chat_with(const std::string& response_format) {
  return parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": )" +
                            response_format + "}");
}

std::shared_ptr<const grammar::Grammar> grammar_of(const ParsedRequest& p) {
  const auto* r = std::get_if<CompletionRequest>(&p);
  if (!r) {
    ADD_FAILURE() << std::get<http::ApiError>(p).message;
    return nullptr;
  }
  return r->sampling.grammar;
}

std::string refusal(const ParsedRequest& p) {
  const auto* e = std::get_if<http::ApiError>(&p);
  if (!e) {
    ADD_FAILURE() << "expected a 400";
    return "";
  }
  EXPECT_EQ(e->status, 400);
  EXPECT_EQ(e->param, "response_format");
  return e->message;
}

bool accepts(const std::shared_ptr<const grammar::Grammar>& g, const std::string& text) {
  std::vector<std::string> vocabulary;
  for (int c = 0x20; c < 0x7f; ++c) vocabulary.emplace_back(1, static_cast<char>(c));
  auto trie = std::make_shared<const grammar::TokenTrie>(vocabulary, std::vector<int32_t>{});
  grammar::GrammarMatcher m(g, trie);
  return m.accept_bytes(text) && m.is_complete();
}

TEST(ResponseFormat, TextAttachesNoGrammar) {
  EXPECT_EQ(grammar_of(chat_with(R"({"type": "text"})")), nullptr);
  EXPECT_EQ(grammar_of(parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})")),
            nullptr);
}

TEST(ResponseFormat, JsonObjectAcceptsObjectsOnly) {
  auto g = grammar_of(chat_with(R"({"type": "json_object"})"));
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(accepts(g, R"({"a": [1, 2]})"));
  EXPECT_FALSE(accepts(g, "[1]"));
}

TEST(ResponseFormat, JsonSchemaKeepsTheClientsPropertyOrder) {
  auto g = grammar_of(chat_with(R"({"type": "json_schema", "json_schema": {"name": "p", "strict": true,
      "schema": {"type": "object", "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "boolean"}},
      "required": ["zeta", "alpha"], "additionalProperties": false}}})"));
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(accepts(g, R"({"zeta": 1, "alpha": true})"));
  EXPECT_FALSE(accepts(g, R"({"alpha": true, "zeta": 1})"));
}

TEST(ResponseFormat, RefusalsNameTheParameterAndTheKeyword) {
  EXPECT_NE(refusal(chat_with(R"("json_object")")).find("object"), std::string::npos);
  EXPECT_NE(refusal(chat_with(R"({"type": "grammar"})")).find("grammar"), std::string::npos);
  EXPECT_NE(refusal(chat_with(R"({"type": "json_schema"})")).find("schema is required"), std::string::npos);
  const std::string message = refusal(chat_with(R"({"type": "json_schema", "json_schema": {"name": "x",
      "schema": {"type": "object", "properties": {"n": {"type": "number", "multipleOf": 5}}}}})"));
  EXPECT_NE(message.find("multipleOf"), std::string::npos) << message;
  EXPECT_NE(message.find("#/properties/n"), std::string::npos) << message;
}

}  // namespace
}  // namespace tandem::openai
