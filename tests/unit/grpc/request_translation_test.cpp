// The gRPC requests go through the HTTP API's parser: same defaults, same refusals, same words.

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "grpc/grpc_status.h"
#include "grpc/reply_chunks.h"
#include "grpc/request_translation.h"

namespace tandem::grpc_api {
namespace {

tandem::v1::ChatRequest chat(std::string role = "user") {
  tandem::v1::ChatRequest r;
  r.set_model("m");
  auto* m = r.add_messages();
  m->set_role(std::move(role));
  m->set_content("hi");
  return r;
}

TEST(RequestTranslation, UnsetFieldsAreLeftOutSoTheyTakeTheHttpDefaults) {
  const auto body = nlohmann::json::parse(openai_body(chat()));
  EXPECT_EQ(body["model"], "m");
  EXPECT_EQ(body["stream"], true);
  EXPECT_FALSE(body.contains("temperature"));
  EXPECT_FALSE(body.contains("max_tokens"));
  EXPECT_FALSE(body.contains("stop"));
}

TEST(RequestTranslation, SetFieldsKeepTheirOpenAiNames) {
  auto r = chat();
  auto* s = r.mutable_sampling();
  s->set_temperature(0);  // set to zero is not unset: greedy
  s->set_max_tokens(7);
  s->set_seed(3);
  s->add_stop(std::string("\n"));  // a std::string: GCC 12 warns falsely (-Wrestrict) on a short literal
  s->set_repeat_penalty(1.1);
  const auto body = nlohmann::json::parse(openai_body(r));
  EXPECT_EQ(body["temperature"], 0.0);
  EXPECT_EQ(body["max_tokens"], 7);
  EXPECT_EQ(body["seed"], 3);
  EXPECT_EQ(body["stop"], nlohmann::json::array({"\n"}));
  EXPECT_DOUBLE_EQ(body["repeat_penalty"].get<double>(), 1.1);
  auto parsed = parse(r);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  EXPECT_EQ(std::get<openai::CompletionRequest>(parsed).max_tokens, 7);
}

TEST(RequestTranslation, RefusalsNameTheFieldAsTheHttpApiDoes) {
  auto r = chat();
  r.mutable_sampling()->set_temperature(9);
  auto parsed = parse(r);
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(parsed));
  EXPECT_EQ(std::get<http::ApiError>(parsed).param, "temperature");
  auto bad_role = parse(chat("wizard"));
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(bad_role));
  EXPECT_NE(std::get<http::ApiError>(bad_role).message.find("wizard"), std::string::npos);
  tandem::v1::CompleteRequest no_model;
  no_model.set_prompt(std::string("x"));
  auto refused = parse(no_model);
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(refused));
  EXPECT_EQ(std::get<http::ApiError>(refused).param, "model");
}

TEST(RequestTranslation, LogitBiasReachesTheSamplerInfinitiesIncluded) {
  auto r = chat();
  (*r.mutable_sampling()->mutable_logit_bias())[5] = 2.5F;
  (*r.mutable_sampling()->mutable_logit_bias())[9] = -std::numeric_limits<float>::infinity();
  auto parsed = parse(r);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  auto bias = std::get<openai::CompletionRequest>(parsed).sampling.logit_bias;
  std::sort(bias.begin(), bias.end());
  ASSERT_EQ(bias.size(), 2U);
  EXPECT_EQ(bias[0], (std::pair<int32_t, float>{5, 2.5F}));
  EXPECT_EQ(bias[1].first, 9);
  EXPECT_EQ(bias[1].second, -std::numeric_limits<float>::infinity());  // a ban
  (*r.mutable_sampling()->mutable_logit_bias())[5] = 101;
  auto refused = parse(r);
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(refused));
  EXPECT_EQ(std::get<http::ApiError>(refused).param, "logit_bias");
}

TEST(RequestTranslation, ResponseFormatKeepsTheSchemasPropertyOrder) {
  auto r = chat();
  r.set_response_format(R"({"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object",)"
                        R"("properties":{"z":{"type":"string"},"a":{"type":"integer"}}}}})");
  const std::string body = openai_body(r);
  EXPECT_LT(body.find("\"z\""), body.find("\"a\""));
  EXPECT_TRUE(std::holds_alternative<openai::CompletionRequest>(parse(r)));
  r.set_response_format("not json");
  auto refused = parse(r);
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(refused));
  EXPECT_EQ(std::get<http::ApiError>(refused).param, "response_format");
}

tandem::v1::ChatRequest with_tool() {
  auto r = chat();
  auto* tool = r.add_tools();
  tool->set_name("get_weather");
  tool->set_description("weather");
  tool->set_parameters(R"({"type":"object","properties":{"z":{"type":"string"},"a":{"type":"integer"}}})");
  return r;
}

TEST(RequestTranslation, ToolsBecomeTheHttpApisToolsInOpenAisKeyOrder) {
  auto r = with_tool();
  r.mutable_tool_choice()->set_function("get_weather");
  r.set_parallel_tool_calls(false);
  const std::string body = openai_body(r);
  // The template prints the tools as JSON: the schema keeps its order, the function OpenAI's.
  EXPECT_NE(body.find(R"("tools":[{"type":"function","function":{"name":"get_weather","description":"weather",)"
                      R"("parameters":{"type":"object","properties":{"z":)"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find(R"("tool_choice":{"type":"function","function":{"name":"get_weather"}})"), std::string::npos);
  auto parsed = parse(r);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  const auto& tools = std::get<openai::CompletionRequest>(parsed).tools;
  EXPECT_EQ(tools.choice, openai::ToolChoice::kNamed);
  EXPECT_EQ(tools.forced_name, "get_weather");
  EXPECT_FALSE(tools.parallel_tool_calls);
  r.mutable_tool_choice()->set_mode("required");
  EXPECT_EQ(std::get<openai::CompletionRequest>(parse(r)).tools.choice, openai::ToolChoice::kRequired);
}

TEST(RequestTranslation, ToolRefusalsNameTheHttpApisFields) {
  auto r = with_tool();
  r.mutable_tools(0)->set_parameters("not json");
  auto refused = parse(r);
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(refused));
  EXPECT_EQ(std::get<http::ApiError>(refused).param, "tools[0].function.parameters");
  auto no_tools = chat();
  no_tools.mutable_tool_choice()->set_mode("required");
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(parse(no_tools)));
  EXPECT_EQ(std::get<http::ApiError>(parse(no_tools)).param, "tool_choice");
  auto kwargs = chat();
  kwargs.set_chat_template_kwargs("[1]");
  ASSERT_TRUE(std::holds_alternative<http::ApiError>(parse(kwargs)));
  EXPECT_EQ(std::get<http::ApiError>(parse(kwargs)).param, "chat_template_kwargs");
}

TEST(RequestTranslation, MessagesCarryTheirCallsTheirCallIdAndName) {
  auto r = with_tool();
  r.mutable_messages(0)->set_name("ann");
  auto* assistant = r.add_messages();
  assistant->set_role("assistant");
  auto* call = assistant->add_tool_calls();
  call->set_id("call_1");
  call->set_name("get_weather");
  call->set_arguments(R"({"z":"Paris"})");
  auto* result = r.add_messages();
  result->set_role("tool");
  result->set_tool_call_id("call_1");
  result->set_content("sunny");
  r.set_chat_template_kwargs(R"({"enable_thinking":false})");
  auto parsed = parse(r);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  const auto& request = std::get<openai::CompletionRequest>(parsed);
  const auto messages = nlohmann::json::parse(request.messages_json);
  EXPECT_EQ(messages[0]["name"], "ann");
  EXPECT_EQ(messages[1]["tool_calls"][0]["function"]["arguments"], R"({"z":"Paris"})");
  EXPECT_EQ(messages[1]["tool_calls"][0]["id"], "call_1");
  EXPECT_EQ(messages[2]["tool_call_id"], "call_1");
  EXPECT_EQ(nlohmann::json::parse(request.chat_template_kwargs_json)["enable_thinking"], false);
}

TEST(ReplyChunks, PiecesOfOneCallMergeAndANewCallStartsItsOwn) {
  tandem::v1::ChatChunk chunk;
  openai::ReplyDelta a;
  a.reasoning = "hm";
  a.content = "ok";
  a.call_pieces = {{0, "call_a", "f", "{\"x\""}, {0, "", "", ":1}"}};
  merge_reply(a, chunk);
  openai::ReplyDelta b;
  b.content = "!";
  b.call_pieces = {{1, "call_b", "g", ""}, {1, "", "", "{}"}};
  merge_reply(b, chunk);
  EXPECT_EQ(chunk.reasoning(), "hm");
  EXPECT_EQ(chunk.text(), "ok!");
  ASSERT_EQ(chunk.tool_calls_size(), 2);
  EXPECT_EQ(chunk.tool_calls(0).id(), "call_a");
  EXPECT_EQ(chunk.tool_calls(0).arguments(), "{\"x\":1}");
  EXPECT_EQ(chunk.tool_calls(1).index(), 1);
  EXPECT_EQ(chunk.tool_calls(1).name(), "g");
  EXPECT_EQ(chunk.tool_calls(1).arguments(), "{}");
}

TEST(RequestTranslation, LogprobsAndNBecomeTheHttpApisFields) {
  auto r = chat();
  r.set_logprobs(true);
  r.set_top_logprobs(3);
  r.set_n(2);
  const auto body = nlohmann::json::parse(openai_body(r));
  EXPECT_EQ(body["logprobs"], true);
  EXPECT_EQ(body["top_logprobs"], 3);
  EXPECT_EQ(body["n"], 2);
  auto parsed = parse(r);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(parsed));
  EXPECT_EQ(std::get<openai::CompletionRequest>(parsed).top_logprobs, 3);
  EXPECT_EQ(std::get<openai::CompletionRequest>(parsed).n, 2);
  // Unset: left out, so no logprobs and one choice.
  const auto plain = std::get<openai::CompletionRequest>(parse(chat()));
  EXPECT_EQ(plain.top_logprobs, -1);
  EXPECT_EQ(plain.n, 1);

  tandem::v1::CompleteRequest c;
  c.set_model("m");
  c.set_prompt("Once");
  c.set_logprobs(0);  // 0 is set: the tokens' own logprobs, no alternatives
  c.set_n(3);
  auto completion = parse(c);
  ASSERT_TRUE(std::holds_alternative<openai::CompletionRequest>(completion));
  EXPECT_EQ(std::get<openai::CompletionRequest>(completion).top_logprobs, 0);
  EXPECT_EQ(std::get<openai::CompletionRequest>(completion).n, 3);
}

TEST(RequestTranslation, LogprobsAndNRefusalsAreTheHttpApis) {
  auto error_of = [](const auto& request) {
    auto parsed = parse(request);
    EXPECT_TRUE(std::holds_alternative<http::ApiError>(parsed));
    return std::get<http::ApiError>(parsed);
  };
  auto top = chat();
  top.set_logprobs(true);
  top.set_top_logprobs(21);
  EXPECT_EQ(error_of(top).param, "top_logprobs");
  EXPECT_EQ(error_of(top).message, "top_logprobs must be between 0 and 20, got 21");
  auto without = chat();
  without.set_top_logprobs(2);
  EXPECT_EQ(error_of(without).param, "top_logprobs");
  auto many = chat();
  many.set_n(17);
  EXPECT_EQ(error_of(many).param, "n");
  auto none = chat();
  none.set_n(0);
  EXPECT_EQ(error_of(none).param, "n");
  tandem::v1::CompleteRequest c;
  c.set_model("m");
  c.set_prompt("Once");
  c.set_logprobs(-1);
  EXPECT_EQ(error_of(c).param, "logprobs");
}

TEST(ReplyChunks, LogprobsKeepTheirBytesAndShowTheHttpApisText) {
  // Filled field by field: GCC 12 warns falsely (-Wmaybe-uninitialized) on nested braces here.
  auto alternative = [](int32_t id, std::string text, float logprob) {
    TokenAlternative a;
    a.id = id;
    a.text = std::move(text);
    a.logprob = logprob;
    return a;
  };
  std::vector<TokenLogprobs> tokens(2);
  tokens[0].token = alternative(7, "hi", -0.5f);
  tokens[0].top = {alternative(7, "hi", -0.5f), alternative(9, "\xE2\x82", -1.25f)};
  tokens[1].token = alternative(3, "\xE2", -std::numeric_limits<float>::infinity());
  google::protobuf::RepeatedPtrField<tandem::v1::TokenLogprob> out;
  append_logprobs(tokens, out);
  ASSERT_EQ(out.size(), 2);
  EXPECT_EQ(out[0].token(), "hi");
  EXPECT_EQ(out[0].bytes(), "hi");
  EXPECT_EQ(out[0].token_id(), 7);
  EXPECT_DOUBLE_EQ(out[0].logprob(), -0.5);
  ASSERT_EQ(out[0].top_logprobs_size(), 2);
  EXPECT_EQ(out[0].top_logprobs(1).bytes(), "\xE2\x82");  // part of a character: the bytes as they are
  EXPECT_EQ(out[0].top_logprobs(1).token(), utf8_text("\xE2\x82"));
  // The text is what the HTTP API's JSON shows for these bytes.
  const std::string http_text = nlohmann::json::parse(
      nlohmann::json("\xE2\x82").dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).get<std::string>();
  EXPECT_EQ(out[0].top_logprobs(1).token(), http_text);
  EXPECT_NE(http_text.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  EXPECT_DOUBLE_EQ(out[1].logprob(), -9999.0);  // -infinity, as the HTTP API sends it
  EXPECT_EQ(out[1].top_logprobs_size(), 0);
}

TEST(GrpcStatus, HttpStatusesMapToTheProtosCodes) {
  EXPECT_EQ(status_code_for(400), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status_code_for(401), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status_code_for(404), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status_code_for(429), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status_code_for(503), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status_code_for(500), grpc::StatusCode::INTERNAL);
  const grpc::Status s = to_grpc_status(http::too_many_requests("the queue is full", 2), nullptr);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "the queue is full");
  EXPECT_EQ(http_status_for(grpc::StatusCode::UNAVAILABLE), 503);
}

}  // namespace
}  // namespace tandem::grpc_api
