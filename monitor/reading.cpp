#include "monitor/reading.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace tandem::monitor {

std::optional<std::string> read_small_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted in a fixture (or a sysfs oddity) must not stall the loop.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[4096];
  // procfs files are generated per read; 1 MiB is far beyond any of them (/proc/net/dev included).
  while (text.size() < (1u << 20)) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

std::optional<double> read_number_file(const std::string& path) {
  const auto text = read_small_file(path);
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str()) return std::nullopt;
  return v;
}

}  // namespace tandem::monitor
