#include "tools/doctor/doctor_check.h"

namespace tandem::doctor {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "PASS";
    case Verdict::kWarn: return "WARN";
    case Verdict::kFail: return "FAIL";
  }
  return "FAIL";
}

std::pair<std::string, std::string> split_message_and_fix(const std::string& text) {
  const size_t at = text.find("; ");
  if (at == std::string::npos) return {text, ""};
  return {text.substr(0, at), text.substr(at + 2)};
}

void DoctorReport::add_config_problems(const std::string& prefix, const config::ConfigReport& report,
                                       const std::string& pass_name, const std::string& pass_message) {
  if (report.problems.empty()) {
    pass(prefix + pass_name, pass_message);
    return;
  }
  for (const config::Problem& p : report.problems) {
    auto [message, fix] = split_message_and_fix(p.message);
    const std::string name = prefix + (p.field.empty() ? pass_name : p.field);
    if (!p.field.empty()) message = p.field + ": " + message;
    add({name, p.severity == config::Severity::kError ? Verdict::kFail : Verdict::kWarn, message, fix});
  }
}

bool DoctorReport::has_failures() const {
  for (const Check& c : checks_) {
    if (c.verdict == Verdict::kFail) return true;
  }
  return false;
}

std::string DoctorReport::to_text() const {
  std::string out;
  for (const Check& c : checks_) {
    out += std::string(verdict_name(c.verdict)) + "  " + c.name + ": " + c.message + "\n";
    if (!c.fix.empty()) out += "      fix: " + c.fix + "\n";
  }
  return out;
}

nlohmann::ordered_json DoctorReport::to_json() const {
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const Check& c : checks_) {
    checks.push_back({{"name", c.name}, {"status", verdict_name(c.verdict)}, {"message", c.message}, {"fix", c.fix}});
  }
  return {{"checks", checks}};
}

}  // namespace tandem::doctor
