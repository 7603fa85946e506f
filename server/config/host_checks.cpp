#include "config/host_checks.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "config/byte_size.h"
#include "gguf/gguf_reader.h"
#include "model/model_config.h"

namespace tandem::config {
namespace {

namespace fs = std::filesystem;

// An IPv4 or IPv6 address in canonical text form, or nullopt when `text` is not an address.
std::optional<std::string> canonical_address(const std::string& text) {
  char buf[INET6_ADDRSTRLEN] = {};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return inet_ntop(AF_INET, &v4, buf, sizeof(buf));
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return inet_ntop(AF_INET6, &v6, buf, sizeof(buf));
  return std::nullopt;
}

bool is_wildcard_or_loopback(const std::string& address) {
  return address == "0.0.0.0" || address == "::" || address == "::1" || address.starts_with("127.");
}

bool probe_port_in_use(const std::string& address, int64_t port) {
  auto canonical = canonical_address(address == "localhost" ? "127.0.0.1" : address);
  if (!canonical) return false;
  const bool v6 = canonical->find(':') != std::string::npos;
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  // The server sets SO_REUSEADDR too, so a port left in TIME_WAIT does not count as in use.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc = 0;
  if (v6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, canonical->c_str(), &sa.sin6_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, canonical->c_str(), &sa.sin_addr);
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  }
  const int err = errno;
  ::close(fd);
  return rc != 0 && err == EADDRINUSE;
}

int count_physical_cores() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool have_mask = sched_getaffinity(0, sizeof(allowed), &allowed) == 0;
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;  // (physical id, core id)
  int processor = -1, physical = 0;
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&] { return std::atoi(line.c_str() + line.find(':') + 1); };
    if (line.starts_with("processor")) processor = value();
    if (line.starts_with("physical id")) physical = value();
    if (line.starts_with("core id")) {
      if (!have_mask || (processor >= 0 && processor < CPU_SETSIZE && CPU_ISSET(processor, &allowed))) {
        cores.insert({physical, value()});
      }
    }
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace

HostFacts host_facts_from_system() {
  HostFacts facts;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* it = list; it; it = it->ifa_next) {
      if (!it->ifa_addr) continue;
      char buf[INET6_ADDRSTRLEN] = {};
      if (it->ifa_addr->sa_family == AF_INET) {
        auto* sa = reinterpret_cast<sockaddr_in*>(it->ifa_addr);
        if (inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof(buf))) facts.addresses.emplace_back(buf);
      } else if (it->ifa_addr->sa_family == AF_INET6) {
        auto* sa = reinterpret_cast<sockaddr_in6*>(it->ifa_addr);
        if (inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof(buf))) facts.addresses.emplace_back(buf);
      }
    }
    freeifaddrs(list);
  }
  facts.physical_cores = count_physical_cores();
  facts.port_in_use = probe_port_in_use;
  return facts;
}

Result<KvGeometry> read_kv_geometry(const std::string& gguf_path) {
  auto file = gguf::GgufFile::open(gguf_path);
  if (!file) return Error{file.error()};
  auto model = read_model_config(*file);
  if (!model) return Error{model.error()};
  KvGeometry g;
  g.n_layer = model->n_layer;
  g.n_head_kv = model->n_head_kv;
  g.head_dim = model->head_dim;
  g.n_ctx_train = model->n_ctx_train;
  return g;
}

Result<std::string> resolve_model_path(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".gguf") found.push_back(entry.path().string());
  }
  if (found.size() == 1) return found[0];
  if (found.empty()) return make_error(path + " is a directory with no .gguf file; point model.path at the GGUF file");
  std::sort(found.begin(), found.end());
  std::string names;
  for (const auto& f : found) names += (names.empty() ? "" : ", ") + fs::path(f).filename().string();
  return make_error(path + " holds several .gguf files (" + names + "); point model.path at one of them");
}

void check_bind_address(const ServerConfig& config, const HostFacts& facts, ConfigReport& report) {
  const std::string& address = config.bind_address;
  if (address == "localhost") return;
  auto canonical = canonical_address(address);
  if (!canonical) {
    report.error("network.bind_address", "\"" + address + "\" is not an IP address; write one like 127.0.0.1, "
                                         "0.0.0.0 or an address of this host");
    return;
  }
  if (is_wildcard_or_loopback(*canonical)) return;
  for (const auto& a : facts.addresses) {
    if (canonical_address(a) == canonical) return;
  }
  std::string mine;
  for (const auto& a : facts.addresses) mine += (mine.empty() ? "" : ", ") + a;
  report.error("network.bind_address", address + " is not an address of this host (it has " +
                                           (mine.empty() ? std::string("none") : mine) +
                                           "); use one of those, 127.0.0.1 for this machine only, or 0.0.0.0 "
                                           "for every interface");
}

void check_port_free(const ServerConfig& config, const HostFacts& facts, ConfigReport& report) {
  if (!facts.port_in_use || config.port < 1 || config.port > 65535) return;
  if (facts.port_in_use(config.bind_address, config.port)) {
    report.error("network.port", std::to_string(config.port) + " is already in use on " + config.bind_address +
                                     "; stop the program listening there (see `ss -ltnp`) or choose another port");
  }
}

std::optional<KvGeometry> check_model_path(ServerConfig& config, ConfigReport& report) {
  const std::string& path = config.model_path;
  if (path.empty()) return std::nullopt;  // the loader already reported it as required
  if (!fs::path(path).is_absolute()) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    report.error("model.path", "\"" + path + "\" is a relative path; give an absolute one" +
                                   (ec ? std::string() : " (like " + absolute.lexically_normal().string() + ")") +
                                   " so the server does not depend on the directory it starts in");
    return std::nullopt;
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    report.error("model.path", path + " does not exist; check the path (scripts/fetch_models.sh fetches the demo model)");
    return std::nullopt;
  }
  auto resolved = resolve_model_path(path);
  if (!resolved) {
    report.error("model.path", resolved.error());
    return std::nullopt;
  }
  config.model_path = *resolved;
  auto geometry = read_kv_geometry(config.model_path);
  if (!geometry) {
    report.error("model.path", config.model_path + " is not a model Tandem can serve: " + geometry.error());
    return std::nullopt;
  }
  return *geometry;
}

void check_kv_budget(const ServerConfig& config, const KvGeometry& g, ConfigReport& report) {
  int64_t n_ctx = config.context_size;
  if (g.n_ctx_train > 0 && n_ctx > g.n_ctx_train) {
    report.warning("model.context_size", std::to_string(n_ctx) + " tokens is more than the model was trained on (" +
                                             std::to_string(g.n_ctx_train) + "); it will be capped at " +
                                             std::to_string(g.n_ctx_train));
    n_ctx = g.n_ctx_train;
  }
  const uint64_t per_token = g.bytes_per_token();
  const uint64_t per_sequence = per_token * static_cast<uint64_t>(n_ctx);
  const uint64_t needed = per_sequence * static_cast<uint64_t>(config.max_batch_size);
  const uint64_t budget = config.cache_size.bytes;
  if (needed <= budget) return;
  std::string fix;
  const uint64_t batch_fits = per_sequence > 0 ? budget / per_sequence : 0;
  if (batch_fits >= 1) fix += "lower model.max_batch_size to " + std::to_string(batch_fits) + ", ";
  const uint64_t ctx_fits = per_token > 0 ? budget / (per_token * static_cast<uint64_t>(config.max_batch_size)) : 0;
  if (ctx_fits >= 16) fix += "lower model.context_size to " + std::to_string(ctx_fits) + ", ";
  fix += "or raise performance.cache_size to at least " + format_byte_size(needed);
  report.error("model.max_batch_size",
               std::to_string(config.max_batch_size) + " sequences of " + std::to_string(n_ctx) + " tokens need " +
                   format_byte_size(needed) + " of KV cache (" + format_byte_size(per_token) +
                   " per token: 2 x " + std::to_string(g.n_layer) + " layers x " + std::to_string(g.n_head_kv) +
                   " KV heads x " + std::to_string(g.head_dim) + " x 2 bytes), more than performance.cache_size (" +
                   format_byte_size(budget) + "); " + fix);
}

void check_threads(const ServerConfig& config, const HostFacts& facts, ConfigReport& report) {
  if (config.threads == 0) return;
  const double recommended = std::max(1.0, std::round(1.5 * facts.physical_cores));
  const double t = static_cast<double>(config.threads);
  if (t >= recommended / 2 && t <= recommended * 2) return;
  report.warning("performance.threads",
                 std::to_string(config.threads) + " threads on a machine with " +
                     std::to_string(facts.physical_cores) + " physical cores; about " +
                     std::to_string(static_cast<int>(recommended)) + " (1.5 x cores) usually runs fastest, or set 0 "
                     "to let Tandem choose");
}

void check_deployment(const ServerConfig& config, ConfigReport& report) {
  if (config.gpu_id >= 0) {
    report.warning("model.gpu_id", std::to_string(config.gpu_id) +
                                       " is ignored: this build of Tandem runs on the CPU; set -1 to silence this");
  }
  auto canonical = canonical_address(config.bind_address);
  const bool local = config.bind_address == "localhost" || (canonical && (canonical->starts_with("127.") || *canonical == "::1"));
  if (!local && config.api_keys.empty()) {
    report.warning("security.api_keys", "the server listens on " + config.bind_address +
                                            " with no API keys, so anyone on the network can use it; add keys");
  }
}

void check_host(ServerConfig& config, const HostFacts& facts, ConfigReport& report) {
  check_bind_address(config, facts, report);
  const bool address_ok = !report.has_errors() ||
                          std::none_of(report.problems.begin(), report.problems.end(),
                                       [](const Problem& p) { return p.field == "network.bind_address"; });
  if (address_ok) check_port_free(config, facts, report);
  if (auto geometry = check_model_path(config, report)) check_kv_budget(config, *geometry, report);
  check_threads(config, facts, report);
  check_deployment(config, report);
}

}  // namespace tandem::config
