#include "tools/doctor/doctor_check.h"

#include <gtest/gtest.h>

namespace tandem::doctor {
namespace {

TEST(DoctorReport, ConfigProblemsBecomeChecksSplitIntoMessageAndFix) {
  config::ConfigReport problems;
  problems.error("network.port", "80 is a privileged port; choose one above 1023");
  problems.warning("performance.threads", "64 threads on 2 cores; about 3 usually runs fastest");
  DoctorReport report;
  report.add_config_problems("serve.", problems, "config", "unused");
  ASSERT_EQ(report.checks().size(), 2u);
  EXPECT_EQ(report.checks()[0].name, "serve.network.port");
  EXPECT_EQ(report.checks()[0].verdict, Verdict::kFail);
  EXPECT_EQ(report.checks()[0].message, "network.port: 80 is a privileged port");
  EXPECT_EQ(report.checks()[0].fix, "choose one above 1023");
  EXPECT_EQ(report.checks()[1].verdict, Verdict::kWarn);
  EXPECT_TRUE(report.has_failures());
}

TEST(DoctorReport, NoProblemsIsOnePass) {
  DoctorReport report;
  report.add_config_problems("gateway.", {}, "config", "f.json loads");
  ASSERT_EQ(report.checks().size(), 1u);
  EXPECT_EQ(report.checks()[0].name, "gateway.config");
  EXPECT_EQ(report.checks()[0].verdict, Verdict::kPass);
  EXPECT_FALSE(report.has_failures());
}

TEST(DoctorReport, AMessageWithoutAFixGetsOne) {
  config::ConfigReport problems;
  problems.error("model.path", "/m.gguf is not a model Tandem can serve: cannot open: Permission denied");
  DoctorReport report;
  report.add_config_problems("serve.", problems, "model.path", "");
  EXPECT_NE(report.checks()[0].fix.find("chmod"), std::string::npos);
}

TEST(DoctorReport, JsonHasTheIssuesShapeAndTextOneLinePerCheck) {
  DoctorReport report;
  report.pass("a", "fine");
  report.warn("b", "hmm", "do x");
  report.fail("c", "broken", "do y");
  const auto json = report.to_json();
  ASSERT_EQ(json.size(), 1u);
  ASSERT_EQ(json["checks"].size(), 3u);
  const auto& c = json["checks"][2];
  std::vector<std::string> keys;
  for (auto it = c.begin(); it != c.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "status", "message", "fix"}));
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_EQ(json["checks"][0]["fix"], "");
  EXPECT_EQ(report.to_text(), "PASS  a: fine\nWARN  b: hmm\n      fix: do x\nFAIL  c: broken\n      fix: do y\n");
}

}  // namespace
}  // namespace tandem::doctor
