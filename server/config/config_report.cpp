#include "config/config_report.h"

namespace tandem::config {

bool ConfigReport::has_errors() const { return count(Severity::kError) > 0; }

size_t ConfigReport::count(Severity severity) const {
  size_t n = 0;
  for (const auto& p : problems) n += p.severity == severity ? 1 : 0;
  return n;
}

std::string ConfigReport::to_string() const {
  std::string out;
  for (Severity s : {Severity::kError, Severity::kWarning}) {
    for (const auto& p : problems) {
      if (p.severity != s) continue;
      out += s == Severity::kError ? "error: " : "warning: ";
      if (!p.field.empty()) out += p.field + ": ";
      out += p.message + "\n";
    }
  }
  return out;
}

}  // namespace tandem::config
