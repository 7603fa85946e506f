#include "openai/completion_request.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "grammar/json_schema_to_grammar.h"
#include "openai/json_brackets.h"
#include "openai/utf8.h"
#include "tandem/engine.h"

namespace tandem::openai {
namespace {

using http::ApiError;
using http::invalid_request;
using nlohmann::json;

// Deeper nesting than any real request has; refused before parsing so that a hostile body
// cannot make the parser or the destructor recurse deeply.
constexpr int kMaxJsonDepth = 64;

using MaybeError = std::optional<ApiError>;

std::string kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a value of another type";
  }
}

ApiError wrong_type(const std::string& field, std::string_view expected, const json& got) {
  return invalid_request(field + " must be " + std::string(expected) + ", got " + kind_of(got), field);
}

MaybeError parse_object(std::string_view body, json& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return invalid_request("the request body is empty; send a JSON object", "", "invalid_json");
  }
  if (size_t bad = find_invalid_utf8(body); bad != std::string_view::npos) {
    return invalid_request("the request body is not valid UTF-8 (at byte " + std::to_string(bad) + ")", "",
                           "invalid_utf8");
  }
  if (scan_json_brackets(body, BracketScanStop::at_text_end).max_depth > kMaxJsonDepth) {
    return invalid_request("the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels", "",
                           "invalid_json");
  }
  // JSON allows a key twice and parsers disagree on which one wins (nlohmann takes the last), so
  // a proxy that checked the first could be bypassed: the parser's callback sees each object's
  // keys, and a repeated one is refused.
  std::vector<std::set<std::string, std::less<>>> keys;  // one set per object being parsed
  std::string duplicate;
  const json::parser_callback_t note_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty() && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second) duplicate = key;
    }
    return true;
  };
  try {
    out = json::parse(body, note_keys);
  } catch (const json::exception& e) {
    return invalid_request(std::string("the request body is not valid JSON: ") + e.what(), "", "invalid_json");
  }
  if (!duplicate.empty()) {
    return invalid_request("the request body has the key \"" + duplicate +
                               "\" twice in one object; send each key once",
                           duplicate, "duplicate_key");
  }
  if (!out.is_object()) return invalid_request("the request body must be a JSON object, got " + kind_of(out));
  return std::nullopt;
}

// A present, non-null field, or nullptr.
const json* field(const json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return nullptr;
  return &*it;
}

MaybeError read_float(const json& o, const char* name, float& out) {
  const json* v = field(o, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) return wrong_type(name, "a number", *v);
  const double d = v->get<double>();
  if (!std::isfinite(d) || std::abs(d) > 1e30) return invalid_request(std::string(name) + " is out of range", name);
  out = static_cast<float>(d);
  return std::nullopt;
}

// Integers only: 1.0 is accepted, 1.5 and "1" are not.
MaybeError read_int(const json& o, const char* name, std::optional<int64_t>& out) {
  const json* v = field(o, name);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid_request(std::string(name) + " is too large", name);
    }
    out = static_cast<int64_t>(v->get<uint64_t>());
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    out = v->get<int64_t>();
    return std::nullopt;
  }
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15) {
      out = static_cast<int64_t>(d);
      return std::nullopt;
    }
  }
  return wrong_type(name, "an integer", *v);
}

MaybeError read_bool(const json& o, const char* name, bool& out) {
  const json* v = field(o, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) return wrong_type(name, "true or false", *v);
  out = v->get<bool>();
  return std::nullopt;
}

MaybeError read_max_tokens(const json& o, CompletionRequest& r) {
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    std::optional<int64_t> n;
    if (auto e = read_int(o, name, n)) return e;
    if (!n) continue;
    if (*n < 1) return invalid_request(std::string(name) + " must be at least 1, got " + std::to_string(*n), name);
    if (*n > std::numeric_limits<int32_t>::max()) {
      return invalid_request(std::string(name) + " is too large: " + std::to_string(*n), name);
    }
    r.max_tokens = static_cast<int32_t>(*n);  // max_completion_tokens comes second and wins
  }
  return std::nullopt;
}

MaybeError read_stop(const json& o, SamplingParams& s) {
  const json* v = field(o, "stop");
  if (!v) return std::nullopt;
  if (v->is_string()) {
    s.stop = {v->get<std::string>()};
    return std::nullopt;
  }
  if (!v->is_array()) return wrong_type("stop", "a string or an array of strings", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_string()) return wrong_type("stop[" + std::to_string(i) + "]", "a string", item);
    s.stop.push_back(item.get<std::string>());
  }
  return std::nullopt;
}

MaybeError read_logit_bias(const json& o, SamplingParams& s) {
  const json* v = field(o, "logit_bias");
  if (!v) return std::nullopt;
  if (!v->is_object()) return wrong_type("logit_bias", "an object mapping token ids to biases", *v);
  for (const auto& [key, bias] : v->items()) {
    int32_t id = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size()) {
      return invalid_request("logit_bias keys must be token ids (integers as strings), got \"" + key + "\"",
                             "logit_bias");
    }
    if (!bias.is_number()) return wrong_type("logit_bias[\"" + key + "\"]", "a number", bias);
    s.logit_bias.emplace_back(id, static_cast<float>(bias.get<double>()));
  }
  return std::nullopt;
}

// Sampling and streaming fields shared by both endpoints.
MaybeError read_common(const json& o, CompletionRequest& r) {
  const json* model = field(o, "model");
  if (!model) return invalid_request("model is required; GET /v1/models lists the models served", "model");
  if (!model->is_string()) return wrong_type("model", "a string", *model);
  r.model = model->get<std::string>();

  SamplingParams& s = r.sampling;
  if (auto e = read_max_tokens(o, r)) return e;
  if (auto e = read_float(o, "temperature", s.temperature)) return e;
  if (auto e = read_float(o, "top_p", s.top_p)) return e;
  if (auto e = read_float(o, "min_p", s.min_p)) return e;
  if (auto e = read_float(o, "repeat_penalty", s.repeat_penalty)) return e;
  if (auto e = read_float(o, "presence_penalty", s.presence_penalty)) return e;
  if (auto e = read_float(o, "frequency_penalty", s.frequency_penalty)) return e;
  std::optional<int64_t> top_k, seed, n;
  if (auto e = read_int(o, "top_k", top_k)) return e;
  if (top_k) {
    if (*top_k < 0 || *top_k > std::numeric_limits<int32_t>::max()) {
      return invalid_request("top_k must be >= 0 (0 disables it), got " + std::to_string(*top_k), "top_k");
    }
    s.top_k = static_cast<int32_t>(*top_k);
  }
  if (auto e = read_int(o, "seed", seed)) return e;
  if (seed) {
    if (*seed < 0) return invalid_request("seed must not be negative, got " + std::to_string(*seed), "seed");
    s.seed = static_cast<uint64_t>(*seed);
  }
  if (auto e = read_int(o, "n", n)) return e;
  if (n) {
    if (*n < 1 || *n > kMaxChoices) {
      return invalid_request("n must be between 1 and " + std::to_string(kMaxChoices) + " (choices per request), got " +
                                 std::to_string(*n),
                             "n");
    }
    r.n = static_cast<int32_t>(*n);
  }
  if (auto e = read_stop(o, s)) return e;
  if (auto e = read_logit_bias(o, s)) return e;

  if (auto e = read_bool(o, "stream", r.stream)) return e;
  if (const json* so = field(o, "stream_options")) {
    if (!r.stream) {
      return invalid_request("stream_options is only allowed when stream is true", "stream_options");
    }
    if (!so->is_object()) return wrong_type("stream_options", "an object", *so);
    for (const auto& [key, value] : so->items()) {
      if (key != "include_usage" && key != "continuous_usage_stats") {
        return invalid_request("stream_options." + key + " is not supported; use include_usage", "stream_options");
      }
      (void)value;
    }
    if (auto e = read_bool(*so, "include_usage", r.include_usage)) {
      e->message = "stream_options." + e->message;
      e->param = "stream_options";
      return e;
    }
  }

  // Ranges (and the messages) come from the engine's own validation, so the two never disagree.
  if (auto ok = validate(s); !ok) {
    const std::string& message = ok.error();
    const size_t end = message.find_first_of(" [");
    return invalid_request(message, message.substr(0, end));
  }
  return std::nullopt;
}

// OpenAI's two shapes: chat has logprobs (a boolean) and top_logprobs (0..20, needs logprobs);
// completions has logprobs alone, the number of alternatives (OpenAI allows 5; this server 20).
MaybeError read_logprobs(const json& o, bool chat, CompletionRequest& r) {
  const std::string limit = std::to_string(kMaxTopLogprobs);
  if (chat) {
    bool on = false;
    if (auto e = read_bool(o, "logprobs", on)) return e;
    std::optional<int64_t> top;
    if (auto e = read_int(o, "top_logprobs", top)) return e;
    if (top && (*top < 0 || *top > kMaxTopLogprobs)) {
      return invalid_request("top_logprobs must be between 0 and " + limit + ", got " + std::to_string(*top),
                             "top_logprobs");
    }
    if (top && *top > 0 && !on) {
      return invalid_request("top_logprobs needs logprobs: true; set it, or leave top_logprobs out", "top_logprobs");
    }
    if (on) r.top_logprobs = static_cast<int32_t>(top.value_or(0));
    return std::nullopt;
  }
  std::optional<int64_t> n;
  if (auto e = read_int(o, "logprobs", n)) return e;
  if (n && (*n < 0 || *n > kMaxTopLogprobs)) {
    return invalid_request("logprobs must be between 0 and " + limit + " (alternatives per token), got " +
                               std::to_string(*n),
                           "logprobs");
  }
  if (n) r.top_logprobs = static_cast<int32_t>(*n);
  return std::nullopt;
}

MaybeError reject_unsupported(const json& o, bool chat) {
  if (!chat) {
    bool echo = false;
    if (auto e = read_bool(o, "echo", echo)) return e;
    if (echo) return invalid_request("echo is not supported by this server; leave it out", "echo");
    if (const json* v = field(o, "suffix"); v && !(v->is_string() && v->get<std::string>().empty())) {
      return invalid_request("suffix is not supported by this server; leave it out", "suffix");
    }
    std::optional<int64_t> best_of;
    if (auto e = read_int(o, "best_of", best_of)) return e;
    if (best_of && *best_of != 1) return invalid_request("best_of must be 1", "best_of");
  }
  return std::nullopt;
}

MaybeError reject_unknown(const json& o, const std::set<std::string_view>& known) {
  for (const auto& [key, value] : o.items()) {
    if (!known.count(key)) {
      return invalid_request("unrecognized request argument supplied: " + key, key, "unknown_parameter");
    }
    (void)value;
  }
  return std::nullopt;
}

const std::set<std::string_view> kCommonFields = {
    "model", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed", "stop",
    "presence_penalty", "frequency_penalty", "logit_bias", "n", "stream", "stream_options", "user", "logprobs",
    "metadata", "store", "service_tier"};

std::set<std::string_view> with(std::initializer_list<std::string_view> extra) {
  std::set<std::string_view> s = kCommonFields;
  s.insert(extra.begin(), extra.end());
  return s;
}

// Normalises one message: text content (parts joined), known fields only.
MaybeError read_message(const json& m, size_t index, json& out) {
  const std::string at = "messages[" + std::to_string(index) + "]";
  if (!m.is_object()) return wrong_type(at, "an object with role and content", m);
  const json* role = field(m, "role");
  if (!role) return invalid_request(at + ".role is required", at + ".role");
  if (!role->is_string()) return wrong_type(at + ".role", "a string", *role);
  std::string r = role->get<std::string>();
  static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool"};
  if (!kRoles.count(r)) {
    return invalid_request(at + ".role \"" + r + "\" is not one of system, developer, user, assistant, tool",
                           at + ".role");
  }
  if (r == "developer") r = "system";  // OpenAI's newer name for the system role
  out = json::object();
  out["role"] = r;

  const json* content = field(m, "content");
  const bool has_tool_calls = field(m, "tool_calls") != nullptr;
  if (!content) {
    if (r != "assistant" || !has_tool_calls) return invalid_request(at + ".content is required", at + ".content");
    out["content"] = "";
  } else if (content->is_string()) {
    out["content"] = *content;
  } else if (content->is_array()) {
    std::string text;
    for (size_t j = 0; j < content->size(); ++j) {
      const json& part = (*content)[j];
      const std::string pat = at + ".content[" + std::to_string(j) + "]";
      if (!part.is_object()) return wrong_type(pat, "an object like {\"type\": \"text\", \"text\": \"...\"}", part);
      const json* type = field(part, "type");
      if (!type || !type->is_string()) return invalid_request(pat + ".type must be a string", pat + ".type");
      if (*type != "text") {
        return invalid_request(pat + ": type \"" + type->get<std::string>() +
                                   "\" is not supported; this server takes text content only",
                               pat + ".type");
      }
      const json* t = field(part, "text");
      if (!t || !t->is_string()) return invalid_request(pat + ".text must be a string", pat + ".text");
      if (!text.empty()) text += "\n";
      text += t->get<std::string>();
    }
    out["content"] = text;
  } else {
    return wrong_type(at + ".content", "a string or an array of text parts", *content);
  }

  if (const json* name = field(m, "name")) {
    if (!name->is_string()) return wrong_type(at + ".name", "a string", *name);
    out["name"] = *name;
  }
  if (const json* calls = field(m, "tool_calls")) {
    if (r != "assistant") return invalid_request(at + ".tool_calls is only for assistant messages", at + ".tool_calls");
    if (auto e = check_message_tool_calls(*calls, at + ".tool_calls")) return e;
    out["tool_calls"] = *calls;
  }
  if (const json* id = field(m, "tool_call_id")) {
    if (!id->is_string()) return wrong_type(at + ".tool_call_id", "a string", *id);
    out["tool_call_id"] = *id;
  }
  return std::nullopt;
}

// chat_template_kwargs: further variables for the chat template (vLLM's and llama-server's name).
MaybeError read_chat_template_kwargs(const json& o, CompletionRequest& r) {
  const json* v = field(o, "chat_template_kwargs");
  if (!v) return std::nullopt;
  if (!v->is_object()) return wrong_type("chat_template_kwargs", "an object of template variables", *v);
  static const std::set<std::string> kReserved = {"messages", "tools", "add_generation_prompt", "bos_token",
                                                  "eos_token"};
  for (const auto& [key, value] : v->items()) {
    if (kReserved.count(key)) {
      return invalid_request("chat_template_kwargs." + key + " is set by the server; send it as its own field",
                             "chat_template_kwargs");
    }
    (void)value;
  }
  r.chat_template_kwargs_json = v->dump();
  return std::nullopt;
}

// response_format: {"type": "text"}, {"type": "json_object"}, or {"type": "json_schema",
// "json_schema": {"name": ..., "schema": {...}, "strict": ...}}. The schema becomes the grammar
// every sampled token keeps to; what the grammar cannot enforce is refused here, naming the
// schema keyword, rather than answered unconstrained.
MaybeError read_response_format(const json& o, std::string_view body, SamplingParams& s) {
  const json* v = field(o, "response_format");
  if (!v) return std::nullopt;
  const std::string kinds = "\"text\", \"json_object\" or \"json_schema\"";
  if (!v->is_object()) return wrong_type("response_format", "an object like {\"type\": \"json_object\"}", *v);
  const json* type = field(*v, "type");
  if (!type || !type->is_string()) return invalid_request("response_format.type must be " + kinds, "response_format");
  const std::string kind = type->get<std::string>();
  if (kind == "text") return std::nullopt;
  if (kind == "json_object") {
    static const auto any_object = grammar::json_object_grammar();
    s.grammar = any_object;
    return std::nullopt;
  }
  if (kind != "json_schema") {
    return invalid_request("response_format.type \"" + kind + "\" is not supported; use " + kinds, "response_format");
  }
  const json* wrapper = field(*v, "json_schema");
  if (!wrapper || !wrapper->is_object() || !field(*wrapper, "schema")) {
    return invalid_request(
        "response_format.json_schema.schema is required with type \"json_schema\": {\"json_schema\": {\"name\": "
        "\"...\", \"schema\": {...}}}",
        "response_format");
  }
  // The schema once more with the client's key order, which is the order properties are written in.
  nlohmann::ordered_json schema;
  try {
    schema = nlohmann::ordered_json::parse(body).at("response_format").at("json_schema").at("schema");
  } catch (const nlohmann::json::exception& e) {
    return invalid_request(std::string("response_format.json_schema.schema could not be read: ") + e.what(),
                           "response_format");
  }
  auto compiled = grammar::json_schema_grammar(schema);
  if (!compiled) {
    return invalid_request("response_format.json_schema.schema cannot be enforced: " + compiled.error(),
                           "response_format");
  }
  s.grammar = std::move(compiled).value();
  return std::nullopt;
}

}  // namespace

ParsedRequest parse_chat_request(std::string_view body) {
  json o;
  if (auto e = parse_object(body, o)) return *e;
  static const std::set<std::string_view> kKnown =
      with({"messages", "max_completion_tokens", "top_logprobs", "response_format", "tools", "tool_choice",
            "parallel_tool_calls", "reasoning_effort", "modalities", "chat_template_kwargs"});
  if (auto e = reject_unknown(o, kKnown)) return *e;
  CompletionRequest r;
  r.chat = true;
  if (auto e = read_common(o, r)) return *e;
  if (auto e = reject_unsupported(o, true)) return *e;
  if (auto e = read_logprobs(o, true, r)) return *e;
  if (auto e = read_response_format(o, body, r.sampling)) return *e;
  if (auto e = read_tool_request(o, body, r.tools)) return *e;
  if (auto e = read_chat_template_kwargs(o, r)) return *e;
  const json* messages = field(o, "messages");
  if (!messages) return invalid_request("messages is required: an array of {\"role\", \"content\"}", "messages");
  if (!messages->is_array()) return wrong_type("messages", "an array", *messages);
  if (messages->empty()) return invalid_request("messages must not be empty", "messages");
  json normalised = json::array();
  for (size_t i = 0; i < messages->size(); ++i) {
    json m;
    if (auto e = read_message((*messages)[i], i, m)) return *e;
    normalised.push_back(std::move(m));
  }
  r.messages_json = normalised.dump();
  return r;
}

ParsedRequest parse_completion_request(std::string_view body) {
  json o;
  if (auto e = parse_object(body, o)) return *e;
  static const std::set<std::string_view> kKnown = with({"prompt", "echo", "suffix", "best_of"});
  if (auto e = reject_unknown(o, kKnown)) return *e;
  CompletionRequest r;
  if (auto e = read_common(o, r)) return *e;
  if (auto e = reject_unsupported(o, false)) return *e;
  if (auto e = read_logprobs(o, false, r)) return *e;
  const json* prompt = field(o, "prompt");
  if (!prompt) return invalid_request("prompt is required", "prompt");
  if (prompt->is_string()) {
    r.prompt = prompt->get<std::string>();
  } else if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string()) {
    r.prompt = (*prompt)[0].get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_string()) {
    return invalid_request("prompt must be one string: this server completes one prompt per request", "prompt");
  } else {
    return wrong_type("prompt", "a string", *prompt);
  }
  return r;
}

}  // namespace tandem::openai
