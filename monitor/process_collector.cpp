#include <unistd.h>

#include <sstream>

#include "monitor/collectors.h"

namespace tandem::monitor {

std::optional<Readings> ProcessCollector::sample(double) {
  Readings out;
  const long page = sysconf(_SC_PAGESIZE);
  if (const auto statm = read_small_file(proc_root + "/self/statm")) {
    std::istringstream in(*statm);
    uint64_t size = 0, resident = 0;
    if (in >> size >> resident) {
      out.push_back({"process_resident_bytes", {}, static_cast<double>(resident) * static_cast<double>(page > 0 ? page : 4096)});
    }
  }
  if (const auto stat = read_small_file(proc_root + "/self/stat")) {
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    const auto close = stat->rfind(')');
    if (close != std::string::npos) {
      std::istringstream in(stat->substr(close + 1));
      std::string field;
      uint64_t utime = 0, stime = 0;
      // Fields 3..13 come before utime (14) and stime (15).
      for (int i = 3; i <= 13 && in >> field; ++i) {
      }
      const long hz = sysconf(_SC_CLK_TCK);
      if (in >> utime >> stime) {
        out.push_back({"process_cpu_seconds_total", {}, static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100)});
      }
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace tandem::monitor
