#include "openai/tool_calls/tool_request.h"

#include <set>

namespace tandem::openai {
namespace {

using http::ApiError;
using http::invalid_request;
using nlohmann::json;
using nlohmann::ordered_json;

using MaybeError = std::optional<ApiError>;

const json* present(const json& o, const char* name) {
  auto it = o.find(name);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

bool valid_function_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

MaybeError read_tool(const json& tool, const std::string& at, std::set<std::string>& names) {
  if (!tool.is_object()) {
    return invalid_request(at + " must be an object like {\"type\": \"function\", \"function\": {\"name\": ...}}", at);
  }
  for (const auto& [key, value] : tool.items()) {
    if (key != "type" && key != "function") {
      return invalid_request(at + "." + key + " is not a tool field; send type and function", at + "." + key);
    }
    (void)value;
  }
  const json* type = present(tool, "type");
  if (!type || *type != "function") {
    return invalid_request(at + ".type must be \"function\" (the only kind of tool this server calls)", at + ".type");
  }
  const std::string fat = at + ".function";
  const json* function = present(tool, "function");
  if (!function || !function->is_object()) {
    return invalid_request(fat + " must be an object with name, description and parameters", fat);
  }
  for (const auto& [key, value] : function->items()) {
    if (key != "name" && key != "description" && key != "parameters" && key != "strict") {
      return invalid_request(fat + "." + key + " is not a function field; send name, description, parameters",
                             fat + "." + key);
    }
    (void)value;
  }
  const json* name = present(*function, "name");
  if (!name || !name->is_string() || !valid_function_name(name->get<std::string>())) {
    return invalid_request(fat + ".name must be 1 to 64 letters, digits, '_' or '-'", fat + ".name");
  }
  if (!names.insert(name->get<std::string>()).second) {
    return invalid_request(fat + ".name \"" + name->get<std::string>() + "\" names an earlier tool too; names must differ",
                           fat + ".name");
  }
  if (const json* d = present(*function, "description"); d && !d->is_string()) {
    return invalid_request(fat + ".description must be a string", fat + ".description");
  }
  if (const json* p = present(*function, "parameters")) {
    if (!p->is_object()) return invalid_request(fat + ".parameters must be a JSON Schema object", fat + ".parameters");
    if (const json* t = present(*p, "type"); t && *t != "object") {
      return invalid_request(fat + ".parameters.type must be \"object\": arguments are a JSON object",
                             fat + ".parameters");
    }
  }
  if (const json* s = present(*function, "strict"); s && !s->is_boolean()) {
    return invalid_request(fat + ".strict must be true or false", fat + ".strict");
  }
  return std::nullopt;
}

MaybeError read_tool_choice(const json& v, const std::set<std::string>& names, ToolRequest& out) {
  const std::string kShapes = "\"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}";
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "auto") {
      out.choice = ToolChoice::kAuto;
    } else if (s == "none") {
      out.choice = ToolChoice::kNone;
    } else if (s == "required") {
      out.choice = ToolChoice::kRequired;
    } else {
      return invalid_request("tool_choice \"" + s + "\" is not one of " + kShapes, "tool_choice");
    }
  } else if (v.is_object()) {
    const json* type = present(v, "type");
    const json* function = present(v, "function");
    if (!type || *type != "function" || !function || !function->is_object()) {
      return invalid_request("tool_choice must be " + kShapes, "tool_choice");
    }
    const json* name = present(*function, "name");
    if (!name || !name->is_string()) return invalid_request("tool_choice.function.name must be a string", "tool_choice");
    out.choice = ToolChoice::kNamed;
    out.forced_name = name->get<std::string>();
    if (!names.count(out.forced_name)) {
      return invalid_request("tool_choice names the function \"" + out.forced_name + "\", which is not in tools",
                             "tool_choice");
    }
  } else {
    return invalid_request("tool_choice must be " + kShapes, "tool_choice");
  }
  if (out.choice != ToolChoice::kAuto && out.choice != ToolChoice::kNone && names.empty()) {
    return invalid_request("tool_choice \"required\" or a named function needs tools; send tools", "tool_choice");
  }
  return std::nullopt;
}

}  // namespace

MaybeError read_tool_request(const json& o, std::string_view body, ToolRequest& out) {
  std::set<std::string> names;
  const json* tools = present(o, "tools");
  if (tools) {
    if (!tools->is_array()) return invalid_request("tools must be an array of {\"type\": \"function\", ...}", "tools");
    if (tools->size() > kMaxTools) {
      return invalid_request("tools has " + std::to_string(tools->size()) + " entries; send at most " +
                                 std::to_string(kMaxTools),
                             "tools");
    }
    for (size_t i = 0; i < tools->size(); ++i) {
      if (auto e = read_tool((*tools)[i], "tools[" + std::to_string(i) + "]", names)) return e;
    }
    if (!tools->empty()) {
      // The body parsed once already; again with key order kept, for the template.
      const ordered_json ordered = ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (ordered.is_object() && ordered.contains("tools")) out.tools = ordered["tools"];
    }
  }
  if (const json* choice = present(o, "tool_choice")) {
    if (auto e = read_tool_choice(*choice, names, out)) return e;
  }
  if (const json* parallel = present(o, "parallel_tool_calls")) {
    if (!parallel->is_boolean()) return invalid_request("parallel_tool_calls must be true or false", "parallel_tool_calls");
    if (names.empty()) {
      return invalid_request("parallel_tool_calls is only allowed when tools are sent", "parallel_tool_calls");
    }
    out.parallel_tool_calls = parallel->get<bool>();
  }
  return std::nullopt;
}

MaybeError check_message_tool_calls(const json& calls, const std::string& at) {
  if (!calls.is_array()) return invalid_request(at + " must be an array", at);
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& call = calls[i];
    const std::string cat = at + "[" + std::to_string(i) + "]";
    if (!call.is_object()) return invalid_request(cat + " must be an object with id, type and function", cat);
    const json* id = present(call, "id");
    if (!id || !id->is_string()) return invalid_request(cat + ".id must be a string (the id the call came with)", cat + ".id");
    if (const json* type = present(call, "type"); type && *type != "function") {
      return invalid_request(cat + ".type must be \"function\"", cat + ".type");
    }
    const json* function = present(call, "function");
    if (!function || !function->is_object()) {
      return invalid_request(cat + ".function must be an object with name and arguments", cat + ".function");
    }
    const json* name = present(*function, "name");
    if (!name || !name->is_string()) return invalid_request(cat + ".function.name must be a string", cat + ".function.name");
    const json* arguments = present(*function, "arguments");
    if (arguments && !arguments->is_string()) {
      return invalid_request(cat + ".function.arguments must be a string of JSON, as the call came",
                             cat + ".function.arguments");
    }
  }
  return std::nullopt;
}

}  // namespace tandem::openai
