#include <sstream>

#include "monitor/collectors.h"

namespace tandem::monitor {

std::optional<Readings> NetworkCollector::sample(double) {
  const auto text = read_small_file(proc_root + "/net/dev");
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  std::string line;
  Readings out;
  // "  eth0: 1234 5 0 0 0 0 0 0 5678 9 ..." (receive: bytes packets errs drop fifo frame
  // compressed multicast; then transmit: bytes ...). The two header lines have no number after ':'.
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string device = line.substr(0, colon);
    device.erase(0, device.find_first_not_of(' '));
    std::istringstream fields(line.substr(colon + 1));
    double v[9] = {};
    int n = 0;
    while (n < 9 && fields >> v[n]) ++n;
    if (n < 9 || device.empty()) continue;
    out.push_back({"network_receive_bytes_total", {{"device", device}}, v[0]});
    out.push_back({"network_transmit_bytes_total", {{"device", device}}, v[8]});
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace tandem::monitor
