// One small template per interpreter feature, compared byte for byte with Python jinja2
// (tests/data/chat/feature_cases.json, produced by scripts/make_chat_template_expectations.py).

#include <gtest/gtest.h>

#include "chat/chat_template.h"
#include "chat_test_util.h"

namespace tandem {
namespace {

using test::chat_data_path;
using test::read_json;

const nlohmann::ordered_json& feature_data() {
  static const nlohmann::ordered_json data = read_json(chat_data_path("feature_cases.json"));
  return data;
}

class FeatureCaseTest : public ::testing::TestWithParam<size_t> {};

TEST_P(FeatureCaseTest, MatchesJinja2) {
  const auto& c = feature_data()["cases"][GetParam()];
  const std::string source = c["template"].get<std::string>();
  SCOPED_TRACE("template: " + source);
  ChatTemplateRenderOptions options;
  options.now = test::parse_iso_time(feature_data()["now"].get<std::string>());

  auto tmpl = ChatTemplate::parse(source);
  if (!tmpl.ok()) {
    EXPECT_TRUE(c.contains("error")) << "parse failed: " << tmpl.error();
    EXPECT_NE(tmpl.error().find("line"), std::string::npos) << tmpl.error();
    return;
  }
  auto rendered = tmpl->render(feature_data()["context"], options);
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

INSTANTIATE_TEST_SUITE_P(Features, FeatureCaseTest,
                         ::testing::Range(size_t{0}, feature_data()["cases"].size()));

}  // namespace
}  // namespace tandem
