#include "config/option_loader.h"

namespace tandem::config::detail {

std::string join_names(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace tandem::config::detail
