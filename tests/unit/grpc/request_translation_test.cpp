// The gRPC requests go through the HTTP API's parser: same defaults, same refusals, same words.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "grpc/grpc_status.h"
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
