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
    if (fix.empty()) fix = default_fix(p.field, message);
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

std::string default_fix(const std::string& field, const std::string& message) {
  if (field == "model.path") {
    if (message.find("Permission denied") != std::string::npos) {
      return "let the user that runs tandem read the file (chmod a+r, or chown it to that user)";
    }
    return "point model.path at a GGUF model file (tandem inspect FILE shows whether Tandem can read it)";
  }
  if (field.empty()) return "correct the config file (tandem serve --help or tandem gateway --help lists every option)";
  return "correct " + field + " in the config (--help lists every option with its type and default)";
}

}  // namespace tandem::doctor
