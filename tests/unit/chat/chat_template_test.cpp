// ChatTemplate's API contract: errors name the construct and the line, raise_exception's
// message comes back unchanged, context conventions follow transformers.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "chat/chat_template.h"
#include "chat_test_util.h"
#include "gguf/gguf_reader.h"

namespace tandem {
namespace {

std::string render_ok(std::string_view source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  auto tmpl = ChatTemplate::parse(source);
  if (!tmpl.ok()) return "PARSE ERROR: " + tmpl.error();
  auto out = tmpl->render(context);
  if (!out.ok()) return "RENDER ERROR: " + out.error();
  return out.value();
}

std::string parse_error(std::string_view source) {
  auto tmpl = ChatTemplate::parse(source);
  return tmpl.ok() ? "" : tmpl.error();
}

std::string render_error(std::string_view source, const nlohmann::ordered_json& context = nlohmann::ordered_json::object()) {
  auto tmpl = ChatTemplate::parse(source);
  if (!tmpl.ok()) return "PARSE ERROR: " + tmpl.error();
  auto out = tmpl->render(context);
  return out.ok() ? "" : out.error();
}

TEST(ChatTemplate, RendersMessages) {
  const nlohmann::ordered_json context = {
      {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
      {"add_generation_prompt", true},
  };
  EXPECT_EQ(render_ok("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
                      "{% if add_generation_prompt %}<assistant>{% endif %}",
                      context),
            "<user>Hi<assistant>");
}

TEST(ChatTemplate, SyntaxErrorsNameTheLine) {
  EXPECT_EQ(parse_error("line one\n{{ 1 + }}"), "chat template line 2: expected an expression, got end of print statement '}}'");
  EXPECT_EQ(parse_error("a\nb\n{% for x in xs %}\n{{ x }}"),
            "chat template line 4: unexpected end of template: the 'for' block opened on line 3 needs 'endfor' or "
            "'else'");
  EXPECT_EQ(parse_error("{% if x %}\n{% endfor %}"),
            "chat template line 2: unexpected tag 'endfor': the 'if' block opened on line 1 expects 'elif', 'else' "
            "or 'endif'");
  EXPECT_EQ(parse_error("{{ 'open }}"), "chat template line 1: unterminated string literal");
  EXPECT_EQ(parse_error("{# never closed"), "chat template line 1: missing end of comment tag #}");
  EXPECT_EQ(parse_error("{{ x | nosuch }}"), "chat template line 1: unknown filter 'nosuch'");
  EXPECT_EQ(parse_error("\n\n{{ x is nosuch }}"), "chat template line 3: unknown test 'nosuch'");
  EXPECT_EQ(parse_error("{% break %}"), "chat template line 1: 'break' outside of a for loop");
  EXPECT_EQ(parse_error("{{ a b }}"), "chat template line 1: expected end of print statement '}}', got 'b'");
  EXPECT_EQ(parse_error("{% endif %}"), "chat template line 1: unknown tag 'endif'");
}

TEST(ChatTemplate, UnsupportedConstructsAreNamed) {
  EXPECT_EQ(parse_error("x\n{% include 'other.jinja' %}"),
            "chat template line 2: unsupported tag 'include': chat templates are rendered standalone, without a "
            "template loader");
  EXPECT_EQ(parse_error("{% extends 'base' %}"),
            "chat template line 1: unsupported tag 'extends': chat templates are rendered standalone, without a "
            "template loader");
  EXPECT_EQ(parse_error("{% for x in xs recursive %}{% endfor %}"),
            "chat template line 1: unsupported: recursive for loops");
  EXPECT_EQ(parse_error("{% do xs.append(1) %}"),
            "chat template line 1: unknown tag 'do': the jinja2 'do' extension is not enabled for chat templates (as "
            "in transformers)");
  EXPECT_EQ(parse_error("{% autoescape true %}{% endautoescape %}"),
            "chat template line 1: unsupported tag 'autoescape': chat templates render without HTML escaping");
}

TEST(ChatTemplate, RaiseExceptionCarriesTheMessage) {
  EXPECT_EQ(render_error("{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}"
                         "{% endif %}",
                         {{"messages", {{{"role", "system"}, {"content", "x"}}}}}),
            "System role not supported");
}

TEST(ChatTemplate, RuntimeErrorsNameTheLine) {
  EXPECT_EQ(render_error("ok\n{{ 'a' + 1 }}"), "chat template line 2: TypeError: can only concatenate str (not \"int\") to str");
  EXPECT_EQ(render_error("{% for m in messages %}\n{{ m.content.x.y }}{% endfor %}",
                         {{"messages", {{{"role", "user"}}}}}),
            "chat template line 2: 'dict object' has no attribute 'content'");
  EXPECT_EQ(render_error("{{ missing.attr }}"), "chat template line 1: 'missing' is undefined");
  EXPECT_EQ(render_error("{{ messages.append(1) }}", {{"messages", nlohmann::ordered_json::array()}}),
            "chat template line 1: access to attribute 'append' of 'list' object is unsafe.");
  EXPECT_EQ(render_error("{{ range(1000000) | length }}"),
            "chat template line 1: OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE "
            "(100000).");
}

TEST(ChatTemplate, HostileTemplatesFailCleanly) {
  EXPECT_EQ(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
            "chat template line 1: RecursionError: macro calls nested more than 200 deep");
  EXPECT_EQ(render_error("{{ 'x' * 1000000000000 }}"), "chat template line 1: MemoryError: string repetition result is too large");
  EXPECT_NE(render_error("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"), "");
  EXPECT_EQ(parse_error("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}"),
            "chat template line 1: the template nests blocks or expressions more than 200 levels deep");
  EXPECT_EQ(parse_error("{{ " + std::string(100000, '-') + "1 }}"),
            "chat template line 1: the template nests blocks or expressions more than 200 levels deep");
  std::string nested_ifs;
  for (int i = 0; i < 100000; ++i) nested_ifs += "{% if true %}";
  EXPECT_EQ(parse_error(nested_ifs),
            "chat template line 1: the template nests blocks or expressions more than 200 levels deep");
  // Values nested deeper than Python's recursion limit fail instead of exhausting the stack.
  EXPECT_EQ(render_error("{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}{% endfor %}"
                         "{{ ns.x }}"),
            "chat template line 1: RecursionError: values nest more than 1000 levels deep");
  EXPECT_NE(render_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}"), "");
  // Parsed rather than built, and moved: copying JSON this deep recurses in nlohmann itself.
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = nlohmann::ordered_json::parse(std::string(2000, '[') + std::string(2000, ']'));
  EXPECT_EQ(render_error("{{ messages | length }}", context),
            "chat template: RecursionError: values nest more than 1000 levels deep");
  // Text that is not UTF-8 passes through untouched.
  const std::string bytes("a\0b\xff\xfe{{ 'c' }}", 14);
  EXPECT_EQ(render_ok(bytes), std::string("a\0b\xff\xfe" "c", 6));
}

TEST(ChatTemplate, ContextMustBeAnObject) {
  auto tmpl = ChatTemplate::parse("x");
  ASSERT_TRUE(tmpl.ok());
  auto out = tmpl->render(nlohmann::json::array());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error(), "chat template context must be a JSON object, got array");
}

TEST(ChatTemplate, TransformersDefaults) {
  // tools and documents are defined (as none) and add_generation_prompt is false when absent.
  EXPECT_EQ(render_ok("{{ tools is defined }} {{ tools is none }} {{ documents is none }} {{ add_generation_prompt }}"),
            "True True True False");
  EXPECT_EQ(render_ok("{{ tools | length }}", {{"tools", {1, 2}}}), "2");
}

TEST(ChatTemplate, ToJsonKeepsKeyOrderOfOrderedInput) {
  const auto ordered = nlohmann::ordered_json::parse(R"({"tool": {"name": "f", "description": "é", "a": 1}})");
  EXPECT_EQ(render_ok("{{ tool | tojson }}", ordered), R"({"name": "f", "description": "é", "a": 1})");
  // nlohmann::json sorts keys on parse; the order is lost before the template sees it.
  auto tmpl = ChatTemplate::parse("{{ tool | tojson }}");
  ASSERT_TRUE(tmpl.ok());
  auto out = tmpl->render(nlohmann::json::parse(R"({"tool": {"name": "f", "a": 1}})"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.value(), R"({"a": 1, "name": "f"})");
}

TEST(ChatTemplate, StrftimeNowUsesTheInjectedClock) {
  auto tmpl = ChatTemplate::parse("{{ strftime_now('%d %b %Y') }}");
  ASSERT_TRUE(tmpl.ok());
  ChatTemplateRenderOptions options;
  options.now = test::parse_iso_time("2024-07-26T10:00:00");
  auto out = tmpl->render(nlohmann::json::object(), options);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out.value(), "26 Jul 2024");
  auto live = tmpl->render(nlohmann::json::object());
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live.value().size(), 11u);
}

TEST(ChatTemplate, RendersConcurrently) {
  auto tmpl = ChatTemplate::parse(
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m }}{% endfor %}{{ ns.n }}");
  ASSERT_TRUE(tmpl.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto out = tmpl->render(nlohmann::json{{"messages", {t, i}}});
        if (!out.ok() || out.value() != std::to_string(t) + std::to_string(i) + "2") ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ChatTemplate, ReadsTheTemplateOfAGgufModel) {
  const std::string path = std::string(TANDEM_MODELS_CACHE) + "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fetch the model first: " << path;
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  auto source = chat_template_from_gguf(file.value());
  ASSERT_TRUE(source.ok()) << source.error();
  EXPECT_EQ(source->source, test::read_file(test::chat_data_path("templates/HuggingFaceTB-SmolLM2-135M-Instruct.jinja")));
  EXPECT_EQ(source->bos_token, "<|im_start|>");
  EXPECT_EQ(source->eos_token, "<|im_end|>");
  auto tmpl = ChatTemplate::parse(source->source);
  ASSERT_TRUE(tmpl.ok()) << tmpl.error();
  auto out = tmpl->render(nlohmann::json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                                         {"add_generation_prompt", true}});
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(out.value(),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, GgufWithoutTemplateIsAClearError) {
  const std::string path = std::string(TANDEM_SHARED_DIR) + "/models/llama-2-tiny-random.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error();
  if (file->get_string("tokenizer.chat_template")) GTEST_SKIP() << "this model has a template";
  auto source = chat_template_from_gguf(file.value());
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error(),
            "the model has no tokenizer.chat_template; give a template file (tandem template --template FILE)");
}

}  // namespace
}  // namespace tandem
