#include "grpc/request_translation.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace tandem::grpc_api {
namespace {

// Ordered, so that a response_format schema keeps its properties in the client's order (the
// parser reads the schema back with that order).
using json = nlohmann::ordered_json;

// A logit_bias value as the JSON number the HTTP API would have been sent: JSON has no infinity,
// so +-infinity becomes +-1e39, which the parser's double-to-float conversion turns back into
// +-infinity (a ban, or a value its range check refuses). NaN has no JSON number: null, which the
// parser refuses as "must be a number".
json bias_number(float bias) {
  if (std::isnan(bias)) return nullptr;
  if (std::isinf(bias)) return bias < 0 ? -1e39 : 1e39;
  return static_cast<double>(bias);
}

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
  if (!s.logit_bias().empty()) {
    json bias = json::object();
    for (const auto& [id, value] : s.logit_bias()) bias[std::to_string(id)] = bias_number(value);
    body["logit_bias"] = std::move(bias);
  }
}

// A field that holds JSON text (a tool's parameters, chat_template_kwargs) as the JSON value it
// stands for. Text that is not JSON goes on as a string, which the parser refuses naming the field.
json json_or_text(const std::string& text) {
  json value = json::parse(text, nullptr, false);
  return value.is_discarded() ? json(text) : std::move(value);
}

// Keys in the order OpenAI's clients send them: the chat template prints the tools and calls
// with this order, so the prompt is the one an HTTP client's request gives.
json message_json(const tandem::v1::Message& m) {
  json out = {{"role", m.role()}, {"content", m.content()}};
  if (m.has_name()) out["name"] = m.name();
  if (m.tool_calls_size() > 0) {
    json calls = json::array();
    for (const auto& c : m.tool_calls()) {
      calls.push_back({{"id", c.id()}, {"type", "function"}, {"function", {{"name", c.name()}, {"arguments", c.arguments()}}}});
    }
    out["tool_calls"] = std::move(calls);
  }
  if (m.has_tool_call_id()) out["tool_call_id"] = m.tool_call_id();
  return out;
}

json tool_json(const tandem::v1::Tool& t) {
  json function = {{"name", t.name()}};
  if (t.has_description()) function["description"] = t.description();
  if (t.has_parameters()) function["parameters"] = json_or_text(t.parameters());
  if (t.has_strict()) function["strict"] = t.strict();
  return {{"type", "function"}, {"function", std::move(function)}};
}

void add_tools(const tandem::v1::ChatRequest& request, json& body) {
  if (request.tools_size() > 0) {
    json tools = json::array();
    for (const auto& t : request.tools()) tools.push_back(tool_json(t));
    body["tools"] = std::move(tools);
  }
  if (request.has_tool_choice()) {
    const auto& choice = request.tool_choice();
    if (choice.has_function()) {
      body["tool_choice"] = {{"type", "function"}, {"function", {{"name", choice.function()}}}};
    } else if (choice.has_mode()) {
      body["tool_choice"] = choice.mode();
    }
  }
  if (request.has_parallel_tool_calls()) body["parallel_tool_calls"] = request.parallel_tool_calls();
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
  for (const auto& m : request.messages()) messages.push_back(message_json(m));
  body["messages"] = std::move(messages);
  if (request.has_response_format() && !request.response_format().empty()) {
    body["response_format"] = json_or_text(request.response_format());
  }
  add_tools(request, body);
  if (request.has_chat_template_kwargs() && !request.chat_template_kwargs().empty()) {
    body["chat_template_kwargs"] = json_or_text(request.chat_template_kwargs());
  }
  if (request.has_logprobs()) body["logprobs"] = request.logprobs();
  if (request.has_top_logprobs()) body["top_logprobs"] = request.top_logprobs();
  if (request.has_n()) body["n"] = request.n();
  // Invalid UTF-8 cannot reach here (protobuf refuses it in string fields); replace, never throw.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string openai_body(const tandem::v1::CompleteRequest& request) {
  json body = common(request.model(), request.sampling());
  if (!request.prompt().empty()) body["prompt"] = request.prompt();
  if (request.has_logprobs()) body["logprobs"] = request.logprobs();
  if (request.has_n()) body["n"] = request.n();
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

openai::ParsedRequest parse(const tandem::v1::ChatRequest& request) {
  return openai::parse_chat_request(openai_body(request));
}

openai::ParsedRequest parse(const tandem::v1::CompleteRequest& request) {
  return openai::parse_completion_request(openai_body(request));
}

}  // namespace tandem::grpc_api
