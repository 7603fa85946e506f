#include "gateway/history/conversation.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;

std::string field(const std::string& at, const std::string& name) { return at.empty() ? name : at + "." + name; }

Result<json> validated_settings(const json& s, const std::string& at, const ConversationLimits& limits) {
  json out = json::object();
  if (s.is_null()) return out;
  if (!s.is_object()) return make_error(at + ": expected an object of system, model, temperature, top_p, max_tokens");
  for (const auto& [key, value] : s.items()) {
    const std::string name = field(at, key);
    if (key == "system" || key == "model") {
      if (!value.is_string()) return make_error(name + ": expected a string");
      if (key == "system" && value.get_ref<const std::string&>().size() > limits.max_system_chars) {
        return make_error(name + ": longer than " + std::to_string(limits.max_system_chars) + " bytes; shorten it");
      }
      if (key == "model" && value.get_ref<const std::string&>().size() > 256) {
        return make_error(name + ": longer than 256 bytes; use an id from GET /v1/models");
      }
      out[key] = value;
    } else if (key == "temperature" || key == "top_p") {
      if (value.is_null()) continue;
      if (!value.is_number()) return make_error(name + ": expected a number");
      const double v = value.get<double>();
      const double top = key == "temperature" ? 2.0 : 1.0;
      if (!(v >= 0 && v <= top)) return make_error(name + ": " + value.dump() + " is out of range; use 0.." + json(top).dump());
      out[key] = v;
    } else if (key == "max_tokens") {
      if (value.is_null()) continue;
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000000) {
        return make_error(name + ": expected a whole number of tokens from 1 to 1000000");
      }
      out[key] = value;
    } else {
      return make_error(name + ": unknown setting; use system, model, temperature, top_p or max_tokens");
    }
  }
  return out;
}

Result<json> validated_meta(const json& m, const std::string& at) {
  if (m.is_null()) return json::object();
  if (!m.is_object()) return make_error(at + ": expected an object");
  if (m.size() > 16) return make_error(at + ": more than 16 fields");
  for (const auto& [key, value] : m.items()) {
    if (key.size() > 64) return make_error(at + ": a field name is longer than 64 bytes");
    const bool scalar = value.is_number() || value.is_boolean() || value.is_null() ||
                        (value.is_string() && value.get_ref<const std::string&>().size() <= 1024);
    if (!scalar) return make_error(field(at, key) + ": expected a number, boolean or short string");
  }
  return m;
}

}  // namespace

bool valid_conversation_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<json> validated_conversation(const json& body, const std::string& at, const ConversationLimits& limits) {
  if (!body.is_object()) return make_error((at.empty() ? "body" : at) + ": expected a conversation object");
  json out = {{"title", "New chat"}, {"settings", json::object()}, {"messages", json::array()}};
  if (body.contains("title") && !body["title"].is_null()) {
    const json& t = body["title"];
    if (!t.is_string()) return make_error(field(at, "title") + ": expected a string");
    std::string title = t.get<std::string>();
    if (title.size() > limits.max_title_chars) {
      return make_error(field(at, "title") + ": longer than " + std::to_string(limits.max_title_chars) + " bytes");
    }
    if (!title.empty()) out["title"] = title;
  }
  if (body.contains("settings")) {
    auto settings = validated_settings(body["settings"], field(at, "settings"), limits);
    if (!settings) return make_error(settings.error());
    out["settings"] = std::move(*settings);
  }
  if (body.contains("messages")) {
    const json& messages = body["messages"];
    const std::string name = field(at, "messages");
    if (!messages.is_array()) return make_error(name + ": expected a list of {role, content} objects");
    if (messages.size() > limits.max_messages) {
      return make_error(name + ": more than " + std::to_string(limits.max_messages) + " messages; start a new chat");
    }
    for (size_t i = 0; i < messages.size(); ++i) {
      const json& m = messages[i];
      const std::string item = name + "[" + std::to_string(i) + "]";
      if (!m.is_object()) return make_error(item + ": expected a {role, content} object");
      const auto role = m.find("role");
      if (role == m.end() || !role->is_string() ||
          (*role != "user" && *role != "assistant" && *role != "system")) {
        return make_error(item + ".role: expected \"user\", \"assistant\" or \"system\"");
      }
      const auto content = m.find("content");
      if (content == m.end() || !content->is_string()) return make_error(item + ".content: expected a string");
      json kept = {{"role", *role}, {"content", *content}};
      if (m.contains("meta")) {
        auto meta = validated_meta(m["meta"], item + ".meta");
        if (!meta) return make_error(meta.error());
        if (!meta->empty()) kept["meta"] = std::move(*meta);
      }
      out["messages"].push_back(std::move(kept));
    }
  }
  return out;
}

}  // namespace tandem::gateway
