#pragma once
// Every metric the monitor knows: its type and help for the Prometheus text format, and whether
// /metrics exports it (some are already exported by the command's own metrics, or are only for
// the dashboard). docs/METRICS.md documents the same list; keep the two together.

#include <string_view>

namespace tandem::monitor {

struct MetricInfo {
  std::string_view name;  // without "tandem_"
  std::string_view type;  // "gauge" or "counter"
  std::string_view help;
  bool exported = true;
};

// nullptr for a name the catalogue lacks (such readings stay in /api/stats only).
const MetricInfo* find_metric(std::string_view name);

}  // namespace tandem::monitor
