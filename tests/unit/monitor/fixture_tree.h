#pragma once
// A throwaway directory tree for collector tests: write files under it by relative path.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace tandem::monitor::testing {

class FixtureTree {
 public:
  FixtureTree() {
    std::string templ = (std::filesystem::temp_directory_path() / "tandem-monitor-XXXXXX").string();
    root_ = mkdtemp(templ.data());
  }
  ~FixtureTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  FixtureTree(const FixtureTree&) = delete;
  FixtureTree& operator=(const FixtureTree&) = delete;

  const std::string& root() const { return root_; }

  void write(const std::string& relative, const std::string& text) const {
    const auto path = std::filesystem::path(root_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  // A directory where a file is expected: open() works, read() fails (EISDIR), as an unreadable
  // sysfs attribute does. (Tests may run as root, for whom chmod 000 changes nothing.)
  void unreadable(const std::string& relative) const {
    std::filesystem::create_directories(std::filesystem::path(root_) / relative);
  }
  void remove(const std::string& relative) const { std::filesystem::remove_all(std::filesystem::path(root_) / relative); }

 private:
  std::string root_;
};

}  // namespace tandem::monitor::testing
