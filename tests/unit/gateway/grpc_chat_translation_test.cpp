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

TEST(GrpcChatTranslation, LogprobsAndNGoOntoTheRequestsAsParsed) {
  auto chat = openai::parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                             "logprobs": true, "top_logprobs": 4, "n": 3})");
  tandem::v1::ChatRequest request;
  fill_choices(std::get<openai::CompletionRequest>(chat), request);
  EXPECT_TRUE(request.logprobs());
  EXPECT_EQ(request.top_logprobs(), 4);
  EXPECT_EQ(request.n(), 3);
  auto plain = openai::parse_chat_request(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                              "logprobs": false, "n": 1})");
  tandem::v1::ChatRequest unset;
  fill_choices(std::get<openai::CompletionRequest>(plain), unset);
  EXPECT_FALSE(unset.has_logprobs());
  EXPECT_FALSE(unset.has_top_logprobs());
  EXPECT_FALSE(unset.has_n());
  auto completion = openai::parse_completion_request(R"({"model": "m", "prompt": "Once", "logprobs": 0})");
  tandem::v1::CompleteRequest complete;
  fill_choices(std::get<openai::CompletionRequest>(completion), complete);
  ASSERT_TRUE(complete.has_logprobs());  // 0 is asked for: the tokens' own logprobs
  EXPECT_EQ(complete.logprobs(), 0);
  EXPECT_FALSE(complete.has_n());
}

// A TokenLogprob entry as the backend sends it.
void add_token(google::protobuf::RepeatedPtrField<tandem::v1::TokenLogprob>& out, const std::string& bytes,
               double logprob, const std::string& alternative = "") {
  auto* t = out.Add();
  t->set_token(bytes);
  t->set_bytes(bytes);
  t->set_logprob(logprob);
  if (!alternative.empty()) {
    auto* a = t->add_top_logprobs();
    a->set_token(alternative);
    a->set_bytes(alternative);
    a->set_logprob(-2.5);
  }
}

const openai::ResponseHeader kHeader{"chatcmpl-1", 5, "m"};

tandem::v1::Usage usage(int32_t prompt, int32_t completion) {
  tandem::v1::Usage u;
  u.set_prompt_tokens(prompt);
  u.set_completion_tokens(completion);
  u.set_prompt_ms(10);
  u.set_predicted_ms(20);
  return u;
}

TEST(GrpcChatTranslation, StreamedLogprobsRideOnTheTextAndTheEndAsOverHttp) {
  ChoiceReplies<tandem::v1::ChatChunk> replies(true, true, 1);
  tandem::v1::ChatChunk first;
  first.set_text("Hi");
  add_token(*first.mutable_logprobs(), "Hi", -0.25, "Hello");
  auto events = replies.add(first, kHeader, false);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2U);  // the role announcement, then the text with its token
  EXPECT_EQ((*events)[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_FALSE((*events)[0]["choices"][0].contains("logprobs") && !(*events)[0]["choices"][0]["logprobs"].is_null());
  std::vector<TokenLogprobs> sent(1);
  sent[0].token.text = "Hi";
  sent[0].token.logprob = -0.25f;
  sent[0].top.resize(1);
  sent[0].top[0].text = "Hello";
  sent[0].top[0].logprob = -2.5f;
  const auto expected = openai::chat_logprobs_json(sent);
  EXPECT_EQ((*events)[1]["choices"][0]["logprobs"], expected);
  EXPECT_EQ((*events)[1]["choices"][0]["delta"]["content"], "Hi");

  tandem::v1::ChatChunk last;
  last.set_finish_reason("stop");
  *last.mutable_usage() = usage(4, 2);
  add_token(*last.mutable_logprobs(), "\xE2", -9999.0);  // held back, then the end: rides on the last chunk
  events = replies.add(last, kHeader, false);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1U);
  const auto& tail = (*events)[0]["choices"][0];
  EXPECT_EQ(tail["finish_reason"], "stop");
  EXPECT_EQ(tail["logprobs"]["content"][0]["logprob"], -9999.0);
  EXPECT_EQ(tail["logprobs"]["content"][0]["bytes"], nlohmann::json::array({0xE2}));
  EXPECT_TRUE((*events)[0].contains("timings"));
  EXPECT_TRUE(replies.all_finished());

  const auto body = replies.whole_body(kHeader);
  ASSERT_EQ(body["choices"].size(), 1U);
  EXPECT_EQ(body["choices"][0]["message"]["content"], "Hi");
  EXPECT_EQ(body["choices"][0]["logprobs"]["content"].size(), 2U);
  EXPECT_EQ(body["usage"]["completion_tokens"], 2);
}

TEST(GrpcChatTranslation, SeveralChoicesKeepTheirIndexAndMergeAsOverHttp) {
  ChoiceReplies<tandem::v1::CompleteChunk> replies(false, true, 2);
  auto chunk = [](int32_t index, const std::string& text, const std::string& finish) {
    tandem::v1::CompleteChunk c;
    c.set_index(index);
    c.set_text(text);
    add_token(*c.mutable_logprobs(), text, -1.0);
    if (!finish.empty()) {
      c.set_finish_reason(finish);
      *c.mutable_usage() = usage(4, 3);
    }
    return c;
  };
  auto one = replies.add(chunk(1, "ab", ""), kHeader, true);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1U);
  EXPECT_EQ((*one)[0]["choices"][0]["index"], 1);
  EXPECT_EQ((*one)[0]["choices"][0]["logprobs"]["text_offset"], nlohmann::json::array({0}));
  ASSERT_TRUE(replies.add(chunk(0, "x", "length"), kHeader, true));
  EXPECT_FALSE(replies.all_finished());
  auto end = replies.add(chunk(1, "c", "stop"), kHeader, true);
  ASSERT_TRUE(end);
  ASSERT_EQ(end->size(), 2U);  // the text, then the end with its timings
  EXPECT_EQ((*end)[0]["choices"][0]["logprobs"]["text_offset"], nlohmann::json::array({2}));  // after "ab"
  EXPECT_EQ((*end)[1]["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ((*end)[1]["choices"][0]["index"], 1);
  EXPECT_TRUE(replies.all_finished());
  EXPECT_EQ(replies.usage().prompt_tokens, 4);  // the prompt once
  EXPECT_EQ(replies.usage().completion_tokens, 6);

  const auto body = replies.whole_body(kHeader);
  ASSERT_EQ(body["choices"].size(), 2U);
  EXPECT_EQ(body["choices"][0]["index"], 0);
  EXPECT_EQ(body["choices"][0]["text"], "x");
  EXPECT_EQ(body["choices"][1]["index"], 1);
  EXPECT_EQ(body["choices"][1]["text"], "abc");
  EXPECT_EQ(body["choices"][1]["logprobs"]["tokens"], nlohmann::json::array({"ab", "c"}));
  EXPECT_EQ(body["usage"]["prompt_tokens"], 4);
  EXPECT_EQ(body["usage"]["completion_tokens"], 6);
  EXPECT_EQ(body["usage"]["total_tokens"], 10);
  EXPECT_EQ(body["timings"]["predicted_n"], 6);

  // A chunk for a choice the request did not ask for is refused.
  ChoiceReplies<tandem::v1::CompleteChunk> single(false, false, 1);
  EXPECT_FALSE(single.add(chunk(1, "x", ""), kHeader, false));
}

}  // namespace
}  // namespace tandem::gateway
