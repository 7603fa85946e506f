#include "grpc/request_translation.h"

#include <nlohmann/json.hpp>

namespace tandem::grpc_api {
namespace {

using nlohmann::json;

void add_sampling(const tandem::v1::Sampling& s, json& body) {
  if (s.has_max_tokens()) body["max_tokens"] = s.max_tokens();
  if (s.has_temperature()) body["temperature"] = s.temperature();
  if (s.has_top_p()) body["top_p"] = s.top_p();
  if (s.has_top_k()) body["top_k"] = s.top_k();
  if (s.has_min_p()) body["min_p"] = s.min_p();
  if (s.has_seed()) body["seed"] = s.seed();
  if (s.stop_size() > 0) body["stop"] = json(std::vector<std::string>(s.stop().begin(), s.stop().end()));
  if (s.has_presence_penalty()) body["presence_penalty"] = s.presence_penalty();
  if (s.has_frequency_penalty()) body["frequency_penalty"] = s.frequency_penalty();
  if (s.has_repeat_penalty()) body["repeat_penalty"] = s.repeat_penalty();
}

json common(const std::string& model, const tandem::v1::Sampling& sampling) {
  json body = json::object();
  // proto3 cannot tell "" from unset: an empty string is left out, so the HTTP API's "is required"
  // message names the field.
  if (!model.empty()) body["model"] = model;
  body["stream"] = true;
  add_sampling(sampling, body);
  return body;
}

}  // namespace

std::string openai_body(const tandem::v1::ChatRequest& request) {
  json body = common(request.model(), request.sampling());
  json messages = json::array();
  for (const auto& m : request.messages()) messages.push_back({{"role", m.role()}, {"content", m.content()}});
  body["messages"] = std::move(messages);
  // Invalid UTF-8 cannot reach here (protobuf refuses it in string fields); replace, never throw.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string openai_body(const tandem::v1::CompleteRequest& request) {
  json body = common(request.model(), request.sampling());
  if (!request.prompt().empty()) body["prompt"] = request.prompt();
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

openai::ParsedRequest parse(const tandem::v1::ChatRequest& request) {
  return openai::parse_chat_request(openai_body(request));
}

openai::ParsedRequest parse(const tandem::v1::CompleteRequest& request) {
  return openai::parse_completion_request(openai_body(request));
}

}  // namespace tandem::grpc_api
