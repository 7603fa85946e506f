// Real model templates rendered with real message sets, compared byte for byte with Python
// jinja2 under transformers' settings (tests/data/chat/template_cases.json, produced by
// scripts/make_chat_template_expectations.py).

#include <gtest/gtest.h>

#include <cctype>
#include <map>

#include "chat/chat_template.h"
#include "chat_test_util.h"

namespace tandem {
namespace {

using test::chat_data_path;
using test::read_file;
using test::read_json;

struct TemplateCase {
  std::string name;
  nlohmann::ordered_json data;
};

std::vector<TemplateCase> load_cases() {
  std::vector<TemplateCase> cases;
  const auto data = read_json(chat_data_path("template_cases.json"));
  for (const auto& c : data["cases"]) {
    cases.push_back({c["name"].get<std::string>(), c});
  }
  return cases;
}

class TemplateCaseTest : public ::testing::TestWithParam<TemplateCase> {};

TEST_P(TemplateCaseTest, MatchesJinja2) {
  const auto& c = GetParam().data;
  const auto meta = read_json(chat_data_path("template_cases.json"));
  const std::string source = read_file(chat_data_path("templates/" + c["template"].get<std::string>()));
  auto tmpl = ChatTemplate::parse(source);
  ASSERT_TRUE(tmpl.ok()) << tmpl.error();

  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["bos_token"] = c["bos_token"];
  context["eos_token"] = c["eos_token"];
  context["add_generation_prompt"] = c["add_generation_prompt"];
  const auto messages = read_json(chat_data_path("messages/" + c["messages"].get<std::string>() + ".json"));
  if (messages.is_array()) {
    context["messages"] = messages;
  } else {
    for (auto it = messages.begin(); it != messages.end(); ++it) context[it.key()] = it.value();
  }
  for (auto it = c["vars"].begin(); it != c["vars"].end(); ++it) context[it.key()] = it.value();

  ChatTemplateRenderOptions options;
  options.now = test::parse_iso_time(meta["now"].get<std::string>());
  auto rendered = tmpl->render(context, options);
  if (c.contains("expected")) {
    ASSERT_TRUE(rendered.ok()) << rendered.error();
    EXPECT_EQ(rendered.value(), c["expected"].get<std::string>());
  } else {
    ASSERT_FALSE(rendered.ok()) << "expected an error like: " << c["error"].get<std::string>() << "\ngot:\n"
                                << rendered.value();
    if (c["error_kind"] == "raised") {
      EXPECT_EQ(rendered.error(), c["error"].get<std::string>());
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<TemplateCase>& info) {
  std::string name;
  for (char ch : info.param.name) name.push_back(std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  return name + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(RealTemplates, TemplateCaseTest, ::testing::ValuesIn(load_cases()), case_name);

// The acceptance list: every family renders at least one case successfully.
TEST(TemplateCases, CoverEveryFamily) {
  std::map<std::string, int> ok_cases;
  for (const auto& c : load_cases()) {
    const std::string family = c.name.substr(0, c.name.find('/'));
    ok_cases[family] += c.data.contains("expected") ? 1 : 0;
  }
  for (const char* family : {"qwen2.5", "qwen3", "llama3.1", "llama3.2", "mistral-nemo", "gemma2", "gemma3", "phi3.5",
                             "deepseek-r1", "smollm2"}) {
    EXPECT_GT(ok_cases[family], 3) << family;
  }
}

}  // namespace
}  // namespace tandem
