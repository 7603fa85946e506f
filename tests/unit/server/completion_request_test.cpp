#include "openai/completion_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tandem::openai {
namespace {

const http::ApiError* error_of(const ParsedRequest& p) { return std::get_if<http::ApiError>(&p); }

void expect_error(const ParsedRequest& p, const std::string& param, const std::string& text) {
  const http::ApiError* e = error_of(p);
  ASSERT_NE(e, nullptr) << "expected an error about " << param;
  EXPECT_EQ(e->status, 400);
  EXPECT_EQ(e->param, param) << e->message;
  EXPECT_NE(e->message.find(text), std::string::npos) << e->message;
}

ParsedRequest chat(const std::string& extra) {
  return parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}])" + extra + "}");
}

TEST(ChatRequest, ParsesEveryField) {
  ParsedRequest p = chat(R"(, "max_tokens": 5, "temperature": 0.2, "top_p": 0.9, "top_k": 20, "min_p": 0.1,
      "seed": 42, "stop": ["\n", "END"], "presence_penalty": 0.5, "frequency_penalty": -0.5,
      "logit_bias": {"15": -100, "7": 2.5}, "stream": true, "stream_options": {"include_usage": true},
      "n": 1, "user": "u1")");
  ASSERT_EQ(error_of(p), nullptr) << error_of(p)->message;
  const CompletionRequest& r = std::get<CompletionRequest>(p);
  EXPECT_TRUE(r.chat);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.2f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 20);
  EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.sampling.stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_FLOAT_EQ(r.sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, -0.5f);
  ASSERT_EQ(r.sampling.logit_bias.size(), 2u);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  auto messages = nlohmann::json::parse(r.messages_json);
  EXPECT_EQ(messages, nlohmann::json::parse(R"([{"role": "user", "content": "hi"}])"));
}

TEST(ChatRequest, MaxCompletionTokensWinsAndStopMayBeAString) {
  ParsedRequest p = chat(R"(, "max_tokens": 5, "max_completion_tokens": 9, "stop": "x")");
  ASSERT_EQ(error_of(p), nullptr);
  EXPECT_EQ(std::get<CompletionRequest>(p).max_tokens, 9);
  EXPECT_EQ(std::get<CompletionRequest>(p).sampling.stop, std::vector<std::string>{"x"});
}

TEST(ChatRequest, NormalisesContentPartsAndDeveloperRole) {
  ParsedRequest p = parse_chat_request(R"({"model": "m", "messages": [
      {"role": "developer", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "name": "x"}]})");
  ASSERT_EQ(error_of(p), nullptr) << error_of(p)->message;
  auto messages = nlohmann::json::parse(std::get<CompletionRequest>(p).messages_json);
  EXPECT_EQ(messages[0]["role"], "system");
  EXPECT_EQ(messages[1]["content"], "a\nb");
  EXPECT_EQ(messages[1]["name"], "x");
}

TEST(ChatRequest, MalformedBodies) {
  const auto e1 = parse_chat_request("{\"model\": ");
  ASSERT_NE(error_of(e1), nullptr);
  EXPECT_EQ(error_of(e1)->code, "invalid_json");
  EXPECT_EQ(error_of(parse_chat_request(""))->code, "invalid_json");
  EXPECT_EQ(error_of(parse_chat_request("[1, 2]"))->status, 400);
  EXPECT_EQ(error_of(parse_chat_request("{\"model\": \"m\xff\"}"))->code, "invalid_utf8");
  EXPECT_EQ(error_of(parse_chat_request(std::string(100000, '[') + std::string(100000, ']')))->code, "invalid_json");
}

// JSON allows a key twice and parsers disagree on which one wins: a request that sends one is
// refused, naming the key, instead of silently taking the last.
TEST(ChatRequest, DuplicateKeysAreRefused) {
  expect_error(chat(R"(, "temperature": 0.1, "temperature": 1.9)"), "temperature", "\"temperature\" twice");
  expect_error(parse_completion_request(R"({"model": "m", "prompt": "a", "prompt": "b"})"), "prompt", "twice");
  // Inside a message, and inside logit_bias.
  expect_error(parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "role": "system", "content": "x"}]})"),
               "role", "twice");
  expect_error(chat(R"(, "logit_bias": {"15": 1, "15": -100})"), "15", "twice");
  // The same key in two different objects is fine.
  const ParsedRequest ok = parse_chat_request(
      R"({"model": "m", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})");
  EXPECT_EQ(error_of(ok), nullptr) << error_of(ok)->message;
}

TEST(ChatRequest, MissingAndWrongTypedFields) {
  expect_error(parse_chat_request(R"({"messages": []})"), "model", "model is required");
  expect_error(parse_chat_request(R"({"model": "m"})"), "messages", "messages is required");
  expect_error(parse_chat_request(R"({"model": "m", "messages": []})"), "messages", "must not be empty");
  expect_error(parse_chat_request(R"({"model": 3, "messages": []})"), "model", "must be a string");
  expect_error(parse_chat_request(R"({"model": "m", "messages": "hi"})"), "messages", "must be an array");
  expect_error(parse_chat_request(R"({"model": "m", "messages": [{"content": "hi"}]})"), "messages[0].role",
               "required");
  expect_error(parse_chat_request(R"({"model": "m", "messages": [{"role": "wizard", "content": "hi"}]})"),
               "messages[0].role", "not one of");
  expect_error(parse_chat_request(R"({"model": "m", "messages": [{"role": "user"}]})"), "messages[0].content",
               "required");
  expect_error(parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": 5}]})"),
               "messages[0].content", "must be a string");
  expect_error(parse_chat_request(
                   R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})"),
               "messages[0].content[0].type", "text content only");
  expect_error(chat(R"(, "max_tokens": "10")"), "max_tokens", "must be an integer");
  expect_error(chat(R"(, "max_tokens": 1.5)"), "max_tokens", "must be an integer");
  expect_error(chat(R"(, "temperature": "hot")"), "temperature", "must be a number");
  expect_error(chat(R"(, "stream": "yes")"), "stream", "true or false");
  expect_error(chat(R"(, "stop": [1])"), "stop[0]", "must be a string");
  expect_error(chat(R"(, "logit_bias": {"abc": 1})"), "logit_bias", "token ids");
  expect_error(chat(R"(, "logit_bias": [1])"), "logit_bias", "object");
}

TEST(ChatRequest, OutOfRangeValues) {
  expect_error(chat(R"(, "max_tokens": -5)"), "max_tokens", "at least 1");
  expect_error(chat(R"(, "max_tokens": 0)"), "max_tokens", "at least 1");
  expect_error(chat(R"(, "max_tokens": 99999999999)"), "max_tokens", "too large");
  expect_error(chat(R"(, "max_tokens": 99999999999999999999)"), "max_tokens", "");
  expect_error(chat(R"(, "temperature": 7)"), "temperature", "temperature");
  expect_error(chat(R"(, "top_p": 1.5)"), "top_p", "top_p");
  expect_error(chat(R"(, "presence_penalty": 3)"), "presence_penalty", "presence_penalty");
  expect_error(chat(R"(, "logit_bias": {"1": 500})"), "logit_bias", "logit_bias");
  expect_error(chat(R"(, "seed": -1)"), "seed", "negative");
  expect_error(chat(R"(, "top_k": -1)"), "top_k", ">= 0");
  expect_error(chat(R"(, "n": 17)"), "n", "between 1 and 16");
  expect_error(chat(R"(, "n": 0)"), "n", "between 1 and 16");
  EXPECT_EQ(std::get<CompletionRequest>(chat(R"(, "n": 16)")).n, 16);
  EXPECT_EQ(std::get<CompletionRequest>(chat("")).n, 1);
  expect_error(chat(R"(, "stop": ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"])"), "stop",
               "at most");
}

TEST(ChatRequest, UnknownAndUnsupportedFields) {
  expect_error(chat(R"(, "temprature": 1)"), "temprature", "unrecognized request argument");
  expect_error(chat(R"(, "stream_options": {"include_usage": true})"), "stream_options", "only allowed when stream");
  expect_error(chat(R"(, "tools": [{"type": "function"}])"), "tools[0].function", "must be an object");
  expect_error(chat(R"(, "response_format": {"type": "yaml"})"), "response_format", "not supported");
  EXPECT_EQ(error_of(chat(R"(, "tools": [], "logprobs": false, "response_format": {"type": "text"})")), nullptr);
  EXPECT_EQ(error_of(chat(R"(, "temperature": null, "max_tokens": null)")), nullptr);
}

TEST(ChatRequest, Logprobs) {
  EXPECT_EQ(std::get<CompletionRequest>(chat("")).top_logprobs, -1);
  EXPECT_EQ(std::get<CompletionRequest>(chat(R"(, "logprobs": false, "top_logprobs": 0)")).top_logprobs, -1);
  EXPECT_EQ(std::get<CompletionRequest>(chat(R"(, "logprobs": true)")).top_logprobs, 0);
  EXPECT_EQ(std::get<CompletionRequest>(chat(R"(, "logprobs": true, "top_logprobs": 20)")).top_logprobs, 20);
  expect_error(chat(R"(, "logprobs": true, "top_logprobs": 21)"), "top_logprobs", "between 0 and 20");
  expect_error(chat(R"(, "logprobs": true, "top_logprobs": -1)"), "top_logprobs", "between 0 and 20");
  expect_error(chat(R"(, "top_logprobs": 3)"), "top_logprobs", "needs logprobs: true");
  expect_error(chat(R"(, "logprobs": 1)"), "logprobs", "true or false");
}

TEST(CompletionRequest, Logprobs) {
  auto parse = [](const std::string& extra) {
    return parse_completion_request(R"({"model": "m", "prompt": "x")" + extra + "}");
  };
  EXPECT_EQ(std::get<CompletionRequest>(parse("")).top_logprobs, -1);
  EXPECT_EQ(std::get<CompletionRequest>(parse(R"(, "logprobs": null)")).top_logprobs, -1);
  EXPECT_EQ(std::get<CompletionRequest>(parse(R"(, "logprobs": 0)")).top_logprobs, 0);
  EXPECT_EQ(std::get<CompletionRequest>(parse(R"(, "logprobs": 5)")).top_logprobs, 5);
  expect_error(parse(R"(, "logprobs": 21)"), "logprobs", "between 0 and 20");
  expect_error(parse(R"(, "logprobs": true)"), "logprobs", "an integer");
  expect_error(parse(R"(, "top_logprobs": 2)"), "top_logprobs", "unrecognized");
}

TEST(CompletionRequest, PromptForms) {
  ParsedRequest p = parse_completion_request(R"({"model": "m", "prompt": "Once upon", "max_tokens": 3})");
  ASSERT_EQ(error_of(p), nullptr);
  EXPECT_EQ(std::get<CompletionRequest>(p).prompt, "Once upon");
  EXPECT_FALSE(std::get<CompletionRequest>(p).chat);
  ParsedRequest one = parse_completion_request(R"({"model": "m", "prompt": ["x"]})");
  ASSERT_EQ(error_of(one), nullptr);
  EXPECT_EQ(std::get<CompletionRequest>(one).prompt, "x");
  expect_error(parse_completion_request(R"({"model": "m"})"), "prompt", "required");
  expect_error(parse_completion_request(R"({"model": "m", "prompt": ["a", "b"]})"), "prompt", "one prompt");
  expect_error(parse_completion_request(R"({"model": "m", "prompt": [1, 2]})"), "prompt", "must be a string");
  expect_error(parse_completion_request(R"({"model": "m", "prompt": "x", "echo": true})"), "echo", "not supported");
  expect_error(parse_completion_request(R"({"model": "m", "prompt": "x", "messages": []})"), "messages",
               "unrecognized");
}

TEST(ChatRequest, ToolsAndToolChoice) {
  ParsedRequest p = chat(R"(, "tools": [{"type": "function", "function": {"name": "get_weather",
      "parameters": {"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}}}}],
      "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": false)");
  ASSERT_EQ(error_of(p), nullptr) << error_of(p)->message;
  const ToolRequest& t = std::get<CompletionRequest>(p).tools;
  EXPECT_EQ(t.choice, ToolChoice::kNamed);
  EXPECT_EQ(t.forced_name, "get_weather");
  EXPECT_FALSE(t.parallel_tool_calls);
  // The schema keeps the client's key order, as transformers prints it into the prompt.
  EXPECT_EQ(t.tools[0]["function"]["parameters"]["properties"].begin().key(), "zeta");

  const std::string weather = R"({"type": "function", "function": {"name": "w"}})";
  expect_error(chat(R"(, "tools": {"type": "function"})"), "tools", "must be an array");
  expect_error(chat(R"(, "tools": [{"type": "code", "function": {"name": "w"}}])"), "tools[0].type", "function");
  expect_error(chat(R"(, "tools": [{"type": "function", "function": {"name": "a b"}}])"), "tools[0].function.name",
               "letters");
  expect_error(chat(", \"tools\": [" + weather + ", " + weather + "]"), "tools[1].function.name", "earlier tool");
  expect_error(chat(R"(, "tools": [{"type": "function", "function": {"name": "w", "parameters": []}}])"),
               "tools[0].function.parameters", "JSON Schema");
  expect_error(chat(R"(, "tools": [{"type": "function", "function": {"name": "w", "extra": 1}}])"),
               "tools[0].function.extra", "not a function field");
  expect_error(chat(", \"tools\": [" + weather + "], \"tool_choice\": \"sometimes\""), "tool_choice", "not one of");
  expect_error(chat(", \"tools\": [" + weather + R"(], "tool_choice": {"type": "function", "function": {"name": "x"}})"),
               "tool_choice", "not in tools");
  expect_error(chat(R"(, "tool_choice": "required")"), "tool_choice", "needs tools");
  expect_error(chat(R"(, "parallel_tool_calls": true)"), "parallel_tool_calls", "only allowed");
  expect_error(chat(", \"tools\": [" + weather + "], \"parallel_tool_calls\": 1"), "parallel_tool_calls", "true or false");
  EXPECT_EQ(error_of(chat(R"(, "tool_choice": "none")")), nullptr);
}

TEST(ChatRequest, MessagesWithToolCalls) {
  const auto with = [](const std::string& assistant) {
    return parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}, )" + assistant +
                              R"(, {"role": "tool", "tool_call_id": "call_1", "content": "18 C"}]})");
  };
  ParsedRequest ok = with(R"({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
      "function": {"name": "w", "arguments": "{\"city\": \"Paris\"}"}}]})");
  ASSERT_EQ(error_of(ok), nullptr) << error_of(ok)->message;
  expect_error(with(R"({"role": "assistant", "tool_calls": {}})"), "messages[1].tool_calls", "array");
  expect_error(with(R"({"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "w"}}]})"),
               "messages[1].tool_calls[0].id", "string");
  expect_error(with(R"({"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "w", "arguments": {}}}]})"),
               "messages[1].tool_calls[0].function.arguments", "string of JSON");
  expect_error(with(R"({"role": "user", "content": "x", "tool_calls": []})"), "messages[1].tool_calls", "assistant");
}

TEST(ChatRequest, ChatTemplateKwargs) {
  ParsedRequest p = chat(R"(, "chat_template_kwargs": {"enable_thinking": false})");
  ASSERT_EQ(error_of(p), nullptr) << error_of(p)->message;
  EXPECT_EQ(std::get<CompletionRequest>(p).chat_template_kwargs_json, R"({"enable_thinking":false})");
  expect_error(chat(R"(, "chat_template_kwargs": "enable_thinking")"), "chat_template_kwargs", "an object");
  expect_error(chat(R"(, "chat_template_kwargs": {"messages": []})"), "chat_template_kwargs", "set by the server");
  expect_error(parse_completion_request(R"({"model": "m", "prompt": "x", "chat_template_kwargs": {}})"),
               "chat_template_kwargs", "unrecognized");
}

}  // namespace
}  // namespace tandem::openai
