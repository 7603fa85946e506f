#pragma once
// Problems found while loading and checking a config: every one is collected so that a person
// fixes them all in one go. Each names the option and says how to fix it.

#include <string>
#include <vector>

namespace tandem::config {

enum class Severity { kError, kWarning };

struct Problem {
  Severity severity = Severity::kError;
  std::string field;    // "network.port", or "" for the file as a whole
  std::string message;  // what is wrong and the fix
};

struct ConfigReport {
  std::vector<Problem> problems;

  void error(std::string field, std::string message) {
    problems.push_back({Severity::kError, std::move(field), std::move(message)});
  }
  void warning(std::string field, std::string message) {
    problems.push_back({Severity::kWarning, std::move(field), std::move(message)});
  }
  bool has_errors() const;
  size_t count(Severity severity) const;
  // One line per problem: "error: network.port: 80 is a privileged port ...". Errors first.
  std::string to_string() const;
};

}  // namespace tandem::config
