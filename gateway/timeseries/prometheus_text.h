#pragma once
// Reads Prometheus text exposition (what a link's /metrics returns) into samples. Lenient: a line
// it cannot read is skipped, so one odd metric never hides the rest.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::gateway {

struct PromSample {
  std::string name;                           // "tandem_time_to_first_token_seconds_bucket"
  std::map<std::string, std::string> labels;  // {"le": "0.5"}
  double value = 0;
};

std::vector<PromSample> parse_prometheus_text(std::string_view text);

}  // namespace tandem::gateway
