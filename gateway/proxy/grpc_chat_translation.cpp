#include "gateway/proxy/grpc_chat_translation.h"

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

}  // namespace tandem::gateway
