#include "app/model_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "config/host_checks.h"

namespace tandem::server {
namespace {

// realpath(3), or "" when the path does not resolve (missing, a loop, no permission).
std::string real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr), &std::free);
  return resolved ? std::string(resolved.get()) : std::string();
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 200));
  out.append(s.size() > 200 ? "...\"" : "\"");
  return out;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Result<std::string> ModelDirectory::resolve(std::string_view requested) const {
  // One message for missing, outside and escaping, so the answer reveals nothing outside.
  const Error not_here = make_error("path " + quoted(requested) +
                                    " is not a file in the model directory (model.directory); give the name of a "
                                    ".gguf file there, relative to it");
  if (requested.empty() || requested.find('\0') != std::string_view::npos) return not_here;
  const std::string root = real_path(directory_);
  if (root.empty()) {
    return make_error("the model directory (model.directory) " + directory_ +
                      " cannot be read; the operator must create it or fix the setting");
  }
  const std::filesystem::path asked{std::string(requested)};
  const std::string candidate = asked.is_absolute() ? asked.string() : (std::filesystem::path(root) / asked).string();
  const std::string real = real_path(candidate);
  const std::string prefix = root == "/" ? root : root + "/";
  if (real.empty() || !real.starts_with(prefix) || real.size() == prefix.size()) return not_here;
  return real;
}

Result<std::string> vet_model_file(const std::string& path, std::string_view shown) {
  const std::string real = real_path(path);
  if (real.empty()) return make_error(quoted(shown) + " cannot be opened");
  const Fd fd(::open(real.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return make_error(quoted(shown) + " cannot be opened");
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(quoted(shown) + " is not a regular file (a directory, FIFO or device); give a .gguf file");
  }
  // Read through the descriptor just checked, so the file cannot be swapped for another between
  // the check and the read.
  const std::string via_fd = "/proc/self/fd/" + std::to_string(fd.get());
  auto geometry = config::read_kv_geometry(via_fd);
  if (!geometry) {
    std::string reason = geometry.error();
    // The reader names the file first ("/proc/self/fd/7: ..."); and it quotes the first bytes of
    // a file that is not GGUF, which must not travel back.
    if (reason.starts_with(via_fd + ": ")) reason.erase(0, via_fd.size() + 2);
    if (reason.find("not a GGUF file") != std::string::npos) return make_error(quoted(shown) + " is not a GGUF file");
    return make_error(quoted(shown) + " is not a model Tandem can serve: " + reason);
  }
  return real;
}

}  // namespace tandem::server
