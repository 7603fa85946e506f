#pragma once
// Which process listens on a TCP port, as `ss -ltnp` finds it: the listening socket's inode from
// /proc/net/tcp and tcp6, then the process whose /proc/<pid>/fd holds "socket:[inode]". Reading
// another user's fds needs that user or root; then the owner is unknown but the port still shows
// as taken. `proc_root` lets tests point it elsewhere.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tandem::doctor {

struct PortOwner {
  int pid = 0;         // 0 when the socket's process could not be found (another user's)
  std::string name;    // /proc/<pid>/comm, "" when unknown
  std::string cmdline; // arguments joined by spaces, "" when unknown
};

// The listening sockets' inodes for `port` on any address (parsed from /proc/net/tcp{,6} text).
std::vector<uint64_t> listening_inodes(const std::string& proc_net_tcp_text, uint16_t port);

// nullopt when nothing listens on `port`.
std::optional<PortOwner> find_port_owner(uint16_t port, const std::string& proc_root = "/proc");

}  // namespace tandem::doctor
