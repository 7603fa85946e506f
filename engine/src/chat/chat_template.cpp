#include "chat/chat_template.h"

#include <new>

#include "chat/jinja_ast.h"
#include "chat/jinja_error.h"
#include "chat/jinja_parser.h"
#include "chat/jinja_renderer.h"

namespace tandem {

struct ChatTemplateProgram {
  jinja::Body body;
};

namespace {

std::string describe_error(const jinja::Error& e) {
  if (e.kind() == jinja::ErrorKind::kRaised) return e.what();
  std::string where = "chat template";
  if (e.line() > 0) where += " line " + std::to_string(e.line());
  return where + ": " + e.what();
}

std::tm local_now() {
  const std::time_t t = std::time(nullptr);
  std::tm now{};
  localtime_r(&t, &now);
  return now;
}

template <typename Json>
Result<std::string> render_json(const ChatTemplateProgram& program, const Json& context,
                                const ChatTemplateRenderOptions& options) {
  if (!context.is_object()) {
    return make_error(std::string("chat template context must be a JSON object, got ") + context.type_name());
  }
  try {
    jinja::Dict vars = jinja::Value::from_json(context).as_dict();
    // apply_chat_template always passes these, so templates may test them without `is defined`.
    if (!vars.find("tools")) vars.set("tools", jinja::Value::none());
    if (!vars.find("documents")) vars.set("documents", jinja::Value::none());
    if (!vars.find("add_generation_prompt")) vars.set("add_generation_prompt", jinja::Value::boolean(false));
    jinja::Renderer renderer(options.now ? *options.now : local_now());
    return renderer.render(program.body, vars);
  } catch (const jinja::Error& e) {
    return make_error(describe_error(e));
  } catch (const std::bad_alloc&) {
    return make_error("chat template: out of memory while rendering");
  }
}

}  // namespace

Result<ChatTemplate> ChatTemplate::parse(std::string_view source) {
  try {
    auto program = std::make_shared<ChatTemplateProgram>();
    program->body = jinja::parse_template(source);
    return ChatTemplate(std::move(program));
  } catch (const jinja::Error& e) {
    return make_error(describe_error(e));
  } catch (const std::bad_alloc&) {
    return make_error("chat template: out of memory while parsing");
  }
}

Result<std::string> ChatTemplate::render(const nlohmann::json& context, const ChatTemplateRenderOptions& options) const {
  return render_json(*program_, context, options);
}

Result<std::string> ChatTemplate::render(const nlohmann::ordered_json& context,
                                         const ChatTemplateRenderOptions& options) const {
  return render_json(*program_, context, options);
}

}  // namespace tandem
