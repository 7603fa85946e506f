#include "gateway/proxy/grpc_chat_translation.h"

#include <algorithm>
#include <type_traits>

#include "openai/multi_choice.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

const ordered_json* present(const ordered_json& o, const char* name) {
  auto it = o.find(name);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

std::string json_text(const ordered_json& value) {
  return value.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

void fill_messages(const std::string& messages_json, tandem::v1::ChatRequest& request) {
  // The parser's normalised messages: text parts joined as it joins them, "developer" as "system",
  // a missing content beside tool_calls as "".
  for (const json& m : json::parse(messages_json)) {
    auto* message = request.add_messages();
    message->set_role(m.value("role", ""));
    message->set_content(m.value("content", ""));
    if (auto it = m.find("name"); it != m.end() && it->is_string()) message->set_name(it->get<std::string>());
    if (auto it = m.find("tool_call_id"); it != m.end() && it->is_string()) {
      message->set_tool_call_id(it->get<std::string>());
    }
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (const json& c : *calls) {
        auto* call = message->add_tool_calls();
        call->set_id(c.value("id", ""));
        const json& function = c.at("function");
        call->set_name(function.value("name", ""));
        if (auto a = function.find("arguments"); a != function.end() && a->is_string()) {
          call->set_arguments(a->get<std::string>());
        }
      }
    }
  }
}

// The parser accepted the tools, so each is {"type": "function", "function": {"name", ...}}.
void fill_tools(const ordered_json& tools, tandem::v1::ChatRequest& request) {
  for (const ordered_json& t : tools) {
    const ordered_json& f = t.at("function");
    auto* tool = request.add_tools();
    tool->set_name(f.at("name").get<std::string>());
    if (const auto* d = present(f, "description")) tool->set_description(d->get<std::string>());
    if (const auto* p = present(f, "parameters")) tool->set_parameters(json_text(*p));
    if (const auto* s = present(f, "strict")) tool->set_strict(s->get<bool>());
  }
}

}  // namespace

void fill_chat_request(const ordered_json& body, const openai::CompletionRequest& parsed,
                       tandem::v1::ChatRequest& request) {
  fill_messages(parsed.messages_json, request);
  if (const auto* tools = present(body, "tools"); tools && tools->is_array()) fill_tools(*tools, request);
  if (const auto* choice = present(body, "tool_choice")) {
    if (choice->is_string()) {
      request.mutable_tool_choice()->set_mode(choice->get<std::string>());
    } else {
      request.mutable_tool_choice()->set_function(parsed.tools.forced_name);
    }
  }
  if (const auto* parallel = present(body, "parallel_tool_calls")) request.set_parallel_tool_calls(parallel->get<bool>());
  if (const auto* kwargs = present(body, "chat_template_kwargs")) request.set_chat_template_kwargs(json_text(*kwargs));
  // A schema's properties are written in the client's order.
  if (const auto* format = present(body, "response_format")) request.set_response_format(json_text(*format));
}

openai::ReplyDelta reply_delta_of(const tandem::v1::ChatChunk& chunk) {
  openai::ReplyDelta d;
  d.reasoning = chunk.reasoning();
  d.content = chunk.text();
  for (const auto& c : chunk.tool_calls()) {
    d.call_pieces.push_back(openai::ToolCallPiece{static_cast<size_t>(c.index()), c.id(), c.name(), c.arguments()});
  }
  return d;
}

void ChatReply::add(const tandem::v1::ChatChunk& chunk) {
  content += chunk.text();
  reasoning += chunk.reasoning();
  for (const auto& c : chunk.tool_calls()) {
    // A call's first piece has its id; the next ones continue the call of their index.
    if (!c.id().empty()) {
      tool_calls.push_back(openai::ToolCall{c.id(), c.name(), c.arguments()});
    } else if (c.index() >= 0 && static_cast<size_t>(c.index()) < tool_calls.size()) {
      tool_calls[static_cast<size_t>(c.index())].arguments += c.arguments();
    }
  }
}

void fill_choices(const openai::CompletionRequest& parsed, tandem::v1::ChatRequest& request) {
  if (parsed.top_logprobs >= 0) {
    request.set_logprobs(true);
    request.set_top_logprobs(parsed.top_logprobs);
  }
  if (parsed.n != 1) request.set_n(parsed.n);
}

void fill_choices(const openai::CompletionRequest& parsed, tandem::v1::CompleteRequest& request) {
  if (parsed.top_logprobs >= 0) request.set_logprobs(parsed.top_logprobs);
  if (parsed.n != 1) request.set_n(parsed.n);
}

namespace {

// The engine's value back: the server sent the float it had (or -9999 for -infinity, which the
// HTTP API's JSON shows as -9999 too).
TokenAlternative alternative_of(const std::string& bytes, double logprob, int32_t id) {
  return TokenAlternative{id, bytes, static_cast<float>(logprob)};
}

}  // namespace

std::vector<TokenLogprobs> token_logprobs_of(
    const google::protobuf::RepeatedPtrField<tandem::v1::TokenLogprob>& entries) {
  std::vector<TokenLogprobs> out;
  out.reserve(static_cast<size_t>(entries.size()));
  for (const tandem::v1::TokenLogprob& e : entries) {
    TokenLogprobs t;
    t.token = alternative_of(e.bytes(), e.logprob(), e.token_id());
    for (const tandem::v1::TopLogprob& a : e.top_logprobs()) t.top.push_back(alternative_of(a.bytes(), a.logprob(), a.token_id()));
    out.push_back(std::move(t));
  }
  return out;
}

template <class Chunk>
ChoiceReplies<Chunk>::ChoiceReplies(bool chat, bool logprobs, int32_t n)
    : chat_(chat), logprobs_(logprobs), choices_(static_cast<size_t>(std::max(1, n))) {}

template <class Chunk>
void ChoiceReplies<Chunk>::attach_logprobs(Choice& c, json& event) {
  if (!logprobs_ || c.pending.empty()) return;
  event["choices"][0]["logprobs"] =
      chat_ ? openai::chat_logprobs_json(c.pending) : openai::text_logprobs_json(c.pending, c.text_offset);
  c.pending.clear();
}

namespace {

json timings_of(const tandem::v1::Usage& u) {
  return openai::timings_json(openai::Timings{std::max(0, u.prompt_tokens() - u.cached_tokens()), u.cached_tokens(),
                                              u.prompt_ms(), u.completion_tokens(), u.predicted_ms()});
}

openai::Usage usage_of(const tandem::v1::Usage& u) { return openai::Usage{u.prompt_tokens(), u.completion_tokens()}; }

}  // namespace

template <class Chunk>
std::optional<std::vector<json>> ChoiceReplies<Chunk>::add(const Chunk& chunk, const openai::ResponseHeader& header,
                                                           bool include_usage) {
  constexpr bool kChat = std::is_same_v<Chunk, tandem::v1::ChatChunk>;
  if (chunk.index() < 0 || static_cast<size_t>(chunk.index()) >= choices_.size()) return std::nullopt;
  Choice& c = choices_[static_cast<size_t>(chunk.index())];
  if (c.last) return std::nullopt;  // a chunk after the choice's end
  std::vector<TokenLogprobs> tokens = token_logprobs_of(chunk.logprobs());
  c.tokens.insert(c.tokens.end(), tokens.begin(), tokens.end());
  c.pending.insert(c.pending.end(), tokens.begin(), tokens.end());

  std::vector<json> events;
  if constexpr (kChat) {
    c.reply.add(chunk);
    // OpenAI's first chat chunk of a choice announces the role with empty content.
    if (!c.announced) {
      c.announced = true;
      events.push_back(openai::chat_chunk(header, {{"role", "assistant"}, {"content", ""}}, "", include_usage));
    }
    for (json& delta : openai::chat_reply_deltas(reply_delta_of(chunk))) {
      json event = openai::chat_chunk(header, std::move(delta), "", include_usage);
      attach_logprobs(c, event);
      events.push_back(std::move(event));
    }
  } else {
    c.text += chunk.text();
    if (!chunk.text().empty()) {
      json event = openai::text_chunk(header, chunk.text(), "", include_usage);
      attach_logprobs(c, event);
      events.push_back(std::move(event));
    }
  }
  if (!chunk.finish_reason().empty()) {
    c.last = chunk;
    json tail = kChat ? openai::chat_chunk(header, json::object(), chunk.finish_reason(), include_usage)
                      : openai::text_chunk(header, "", chunk.finish_reason(), include_usage);
    // As the HTTP API: the chunk with the finish_reason carries the timings, and the tokens whose
    // text was held back or empty.
    tail["timings"] = timings_of(chunk.usage());
    attach_logprobs(c, tail);
    events.push_back(std::move(tail));
  }
  for (json& e : events) e["choices"][0]["index"] = chunk.index();
  return events;
}

template <class Chunk>
bool ChoiceReplies<Chunk>::all_finished() const {
  return std::all_of(choices_.begin(), choices_.end(), [](const Choice& c) { return c.last.has_value(); });
}

template <class Chunk>
json ChoiceReplies<Chunk>::whole_body(const openai::ResponseHeader& header) const {
  std::vector<json> bodies;
  for (const Choice& c : choices_) {
    const openai::Usage usage = usage_of(c.last->usage());
    json body;
    if constexpr (std::is_same_v<Chunk, tandem::v1::ChatChunk>) {
      body = openai::chat_completion(header, c.reply.content, c.last->finish_reason(), usage);
      openai::put_chat_reply(body["choices"][0], c.reply.content, c.reply.reasoning, c.reply.tool_calls);
    } else {
      body = openai::text_completion(header, c.text, c.last->finish_reason(), usage);
    }
    body["timings"] = timings_of(c.last->usage());
    if (logprobs_) {
      size_t offset = 0;
      body["choices"][0]["logprobs"] = chat_ ? openai::chat_logprobs_json(c.tokens) : openai::text_logprobs_json(c.tokens, offset);
    }
    bodies.push_back(std::move(body));
  }
  // One choice is the HTTP API's single body; several merge as its n > 1 bodies do.
  if (bodies.size() == 1) return std::move(bodies[0]);
  return openai::merge_choice_bodies(std::move(bodies));
}

template <class Chunk>
openai::Usage ChoiceReplies<Chunk>::usage() const {
  openai::Usage total;
  for (const Choice& c : choices_) {
    if (!c.last) continue;
    total.prompt_tokens = c.last->usage().prompt_tokens();
    total.completion_tokens += c.last->usage().completion_tokens();
  }
  return total;
}

template class ChoiceReplies<tandem::v1::ChatChunk>;
template class ChoiceReplies<tandem::v1::CompleteChunk>;

}  // namespace tandem::gateway
