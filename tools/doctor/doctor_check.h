#pragma once
// One line of `tandem doctor`'s report: a named check, PASS/WARN/FAIL, what it found and the fix.
// The report prints as text (one line per check, the fix indented under it) or as the JSON of
// issue 15: {"checks": [{"name", "status", "message", "fix"}]}.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_report.h"

namespace tandem::doctor {

enum class Verdict { kPass, kWarn, kFail };

const char* verdict_name(Verdict verdict);  // "PASS", "WARN", "FAIL"

struct Check {
  std::string name;     // "serve.bind_address", "gateway.link.primary.connect"
  Verdict verdict = Verdict::kPass;
  std::string message;  // what was found
  std::string fix;      // what to do; "" when nothing
};

class DoctorReport {
 public:
  void pass(std::string name, std::string message) { add({std::move(name), Verdict::kPass, std::move(message), ""}); }
  void warn(std::string name, std::string message, std::string fix) {
    add({std::move(name), Verdict::kWarn, std::move(message), std::move(fix)});
  }
  void fail(std::string name, std::string message, std::string fix) {
    add({std::move(name), Verdict::kFail, std::move(message), std::move(fix)});
  }
  void add(Check check) { checks_.push_back(std::move(check)); }

  // The problems a config check put in `report` become checks named `prefix` + field; none at
  // all is one PASS named `prefix` + `pass_name` with `pass_message`. The loader's messages say
  // the problem, then "; " and the fix: they are split there.
  void add_config_problems(const std::string& prefix, const config::ConfigReport& report,
                           const std::string& pass_name, const std::string& pass_message);

  const std::vector<Check>& checks() const { return checks_; }
  bool has_failures() const;
  std::string to_text() const;
  nlohmann::ordered_json to_json() const;

 private:
  std::vector<Check> checks_;
};

// The fix for a loader message that carries none, by the field it names.
std::string default_fix(const std::string& field, const std::string& message);

// "a is wrong; do b" -> {"a is wrong", "do b"}; no "; " -> {text, ""}.
std::pair<std::string, std::string> split_message_and_fix(const std::string& text);

}  // namespace tandem::doctor
