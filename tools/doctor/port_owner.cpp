#include "tools/doctor/port_owner.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tandem::doctor {
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<uint64_t> listening_inodes(const std::string& text, uint16_t port) {
  // "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
  // "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 ..."
  std::vector<uint64_t> inodes;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode)) continue;
    if (state != "0A") continue;  // TCP_LISTEN
    const size_t colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) != port) continue;
    inodes.push_back(std::strtoull(inode.c_str(), nullptr, 10));
  }
  return inodes;
}

std::optional<PortOwner> find_port_owner(uint16_t port, const std::string& proc_root) {
  std::vector<uint64_t> inodes;
  for (const char* table : {"net/tcp", "net/tcp6"}) {
    for (uint64_t inode : listening_inodes(read_text(fs::path(proc_root) / table), port)) inodes.push_back(inode);
  }
  if (inodes.empty()) return std::nullopt;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(proc_root, ec)) {
    const std::string pid_text = entry.path().filename().string();
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_ec;
    for (const auto& fd : fs::directory_iterator(entry.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      const std::string target = fs::read_symlink(fd.path(), link_ec).string();
      if (link_ec || !target.starts_with("socket:[")) continue;
      const uint64_t inode = std::strtoull(target.c_str() + 8, nullptr, 10);
      for (uint64_t wanted : inodes) {
        if (inode != wanted) continue;
        PortOwner owner;
        owner.pid = std::atoi(pid_text.c_str());
        owner.name = read_text(entry.path() / "comm");
        while (!owner.name.empty() && owner.name.back() == '\n') owner.name.pop_back();
        owner.cmdline = read_text(entry.path() / "cmdline");
        for (char& c : owner.cmdline) c = c == '\0' ? ' ' : c;
        while (!owner.cmdline.empty() && owner.cmdline.back() == ' ') owner.cmdline.pop_back();
        return owner;
      }
    }
  }
  return PortOwner{};
}

}  // namespace tandem::doctor
