// A gRPC link's chat translation: an OpenAI request's tool fields onto the proto as the backend's
// HTTP API would read them, and the chunks' reply parts back into OpenAI's shapes.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/proxy/grpc_chat_translation.h"
#include "openai/response_builder.h"

namespace tandem::gateway {
namespace {

constexpr const char* kBody = R"({"model": "m",
  "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "name": "ann"},
               {"role": "assistant", "content": null, "tool_calls": [
                 {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"z\": 1}"}}]},
               {"role": "tool", "tool_call_id": "call_1", "content": "done"}],
  "tools": [{"type": "function", "function": {"name": "f", "description": "d",
             "parameters": {"type": "object", "properties": {"z": {"type": "integer"}, "a": {"type": "string"}}}}}],
  "tool_choice": {"type": "function", "function": {"name": "f"}},
  "parallel_tool_calls": false,
  "chat_template_kwargs": {"enable_thinking": false}})";

tandem::v1::ChatRequest translated() {
  auto parsed = openai::parse_chat_request(kBody);
  EXPECT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  tandem::v1::ChatRequest request;
  fill_chat_request(nlohmann::ordered_json::parse(kBody), std::get<openai::CompletionRequest>(parsed), request);
  return request;
}

TEST(GrpcChatTranslation, MessagesKeepTheirNameCallsAndCallId) {
  const auto r = translated();
  ASSERT_EQ(r.messages_size(), 3);
  EXPECT_EQ(r.messages(0).content(), "a\nb");  // the parser's joining of text parts
  EXPECT_EQ(r.messages(0).name(), "ann");
  EXPECT_EQ(r.messages(1).content(), "");
  ASSERT_EQ(r.messages(1).tool_calls_size(), 1);
  EXPECT_EQ(r.messages(1).tool_calls(0).id(), "call_1");
  EXPECT_EQ(r.messages(1).tool_calls(0).name(), "f");
  EXPECT_EQ(r.messages(1).tool_calls(0).arguments(), "{\"z\": 1}");
  EXPECT_EQ(r.messages(2).tool_call_id(), "call_1");
  EXPECT_FALSE(r.messages(2).has_name());
}

TEST(GrpcChatTranslation, ToolsKeepTheSchemasKeyOrder) {
  const auto r = translated();
  ASSERT_EQ(r.tools_size(), 1);
  EXPECT_EQ(r.tools(0).name(), "f");
  EXPECT_EQ(r.tools(0).description(), "d");
  EXPECT_EQ(r.tools(0).parameters(), R"({"type":"object","properties":{"z":{"type":"integer"},"a":{"type":"string"}}})");
  EXPECT_FALSE(r.tools(0).has_strict());
  EXPECT_EQ(r.tool_choice().function(), "f");
  EXPECT_FALSE(r.parallel_tool_calls());
  EXPECT_TRUE(r.has_parallel_tool_calls());
  EXPECT_EQ(r.chat_template_kwargs(), R"({"enable_thinking":false})");
}

TEST(GrpcChatTranslation, ResponseFormatKeepsTheSchemasKeyOrder) {
  constexpr const char* body = R"({"model": "m", "messages": [{"role": "user", "content": "hi"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "s",
      "schema": {"type": "object", "properties": {"z": {"type": "integer"}, "a": {"type": "string"}}}}}})";
  auto parsed = openai::parse_chat_request(body);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  tandem::v1::ChatRequest request;
  fill_chat_request(nlohmann::ordered_json::parse(body), std::get<openai::CompletionRequest>(parsed), request);
  EXPECT_EQ(request.response_format(),
            R"({"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":)"
            R"({"z":{"type":"integer"},"a":{"type":"string"}}}}})");
  EXPECT_FALSE(translated().has_response_format());
}

TEST(GrpcChatTranslation, ChunksGiveTheHttpApisDeltasAndWholeReply) {
  tandem::v1::ChatChunk first;
  first.set_reasoning("hm");
  first.set_text("ok");
  auto* call = first.add_tool_calls();
  call->set_index(0);
  call->set_id("call_a");
  call->set_name("f");
  call->set_arguments("{\"z\"");
  tandem::v1::ChatChunk second;
  second.add_tool_calls()->set_arguments(": 1}");
  const auto deltas = openai::chat_reply_deltas(reply_delta_of(first));
  ASSERT_EQ(deltas.size(), 2U);
  EXPECT_EQ(deltas[0], (nlohmann::json{{"reasoning_content", "hm"}, {"content", "ok"}}));
  EXPECT_EQ(deltas[1]["tool_calls"][0]["id"], "call_a");
  EXPECT_EQ(deltas[1]["tool_calls"][0]["function"]["name"], "f");
  const auto next = openai::chat_reply_deltas(reply_delta_of(second));
  ASSERT_EQ(next.size(), 1U);
  EXPECT_FALSE(next[0]["tool_calls"][0].contains("id"));

  ChatReply reply;
  reply.add(first);
  reply.add(second);
  EXPECT_EQ(reply.content, "ok");
  EXPECT_EQ(reply.reasoning, "hm");
  ASSERT_EQ(reply.tool_calls.size(), 1U);
  EXPECT_EQ(reply.tool_calls[0].arguments, "{\"z\": 1}");
  nlohmann::json choice;
  openai::put_chat_reply(choice, reply.content, reply.reasoning, reply.tool_calls);
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["tool_calls"][0]["function"]["arguments"], "{\"z\": 1}");
}

}  // namespace
}  // namespace tandem::gateway
