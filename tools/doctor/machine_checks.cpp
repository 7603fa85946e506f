#include "tools/doctor/machine_checks.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/byte_size.h"
#include "kernels/cpu/cpu_features.h"
#include "monitor/collectors.h"

namespace tandem::doctor {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Runs a read-only command; its output and exit status.
std::pair<std::string, int> run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return {"", -1};
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) {
    if (out.size() < (8u << 20)) out.append(buf, n);
  }
  const int status = pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

std::string find_program(const char* name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    const std::string path = std::string(dir) + name;
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

}  // namespace

std::optional<MemoryFacts> parse_meminfo(const std::string& text) {
  MemoryFacts facts;
  bool have_total = false;
  std::istringstream lines(text);
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    if (!(fields >> key >> kib)) continue;
    if (key == "MemTotal:") {
      facts.total_bytes = kib * 1024;
      have_total = true;
    } else if (key == "MemAvailable:") {
      facts.available_bytes = kib * 1024;
    } else if (key == "SwapTotal:") {
      facts.swap_total_bytes = kib * 1024;
    }
  }
  if (!have_total) return std::nullopt;
  return facts;
}

std::optional<MemoryFacts> read_memory(const std::string& proc_root) {
  std::ifstream in(proc_root + "/meminfo");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_meminfo(ss.str());
}

void check_cpu(DoctorReport& report) {
  const std::string features = cpu::cpu_features_string();
  const cpu::IsaLevel best = cpu::best_isa_level();
  const cpu::IsaLevel active = cpu::active_isa_level();
  std::string message = "vector features: " + (features.empty() ? std::string("none beyond x86-64") : features) +
                        "; kernels: " + cpu::isa_level_name(active);
  if (active != best) {
    report.warn("machine.cpu", message + " (the CPU supports " + cpu::isa_level_name(best) + ", lowered by TANDEM_ISA)",
                "unset TANDEM_ISA unless you are comparing kernels");
  } else if (best == cpu::IsaLevel::kScalar) {
    report.warn("machine.cpu", message + ": no AVX2, so the portable kernels run (several times slower)",
                "run on a CPU with AVX2 (any x86-64 since 2015) or AVX-512 VNNI");
  } else {
    report.pass("machine.cpu", message);
  }
}

void check_swap(const std::optional<MemoryFacts>& memory, DoctorReport& report) {
  if (!memory) {
    report.warn("machine.swap", "/proc/meminfo could not be read", "check that /proc is mounted");
    return;
  }
  if (memory->swap_total_bytes == 0) {
    report.warn("machine.swap", "no swap is configured: a model and cache larger than memory end the process at once",
                "size the model and cache to fit memory (see serve.memory), or add swap as a cushion");
    return;
  }
  report.pass("machine.swap", config::format_byte_size(memory->swap_total_bytes) + " of swap configured");
}

void check_gpu(DoctorReport& report, const std::string& proc_root, const std::string& nvml_library) {
  std::error_code ec;
  std::string models;  // what the driver's /proc files name, even when NVML cannot be loaded
  for (const auto& gpu : std::filesystem::directory_iterator(proc_root + "/driver/nvidia/gpus", ec)) {
    std::ifstream in(gpu.path() / "information");
    for (std::string line; std::getline(in, line);) {
      if (!line.starts_with("Model:")) continue;
      const size_t start = line.find_first_not_of(" \t", 6);
      models += (models.empty() ? "" : ", ") + (start == std::string::npos ? std::string("unknown") : line.substr(start));
    }
  }
  // GPU memory as the monitoring measures it: NVML through dlopen (monitor/nvml_collector.cpp).
  monitor::NvmlCollector nvml(nvml_library);
  std::map<std::string, std::pair<double, double>> memory;  // gpu index -> (used, total) bytes
  if (auto readings = nvml.sample(0)) {
    for (const auto& r : *readings) {
      if (r.name != "gpu_memory_used_bytes" && r.name != "gpu_memory_total_bytes") continue;
      auto& m = memory[r.labels.empty() ? "0" : r.labels.front().second];
      (r.name == "gpu_memory_used_bytes" ? m.first : m.second) = r.value;
    }
  }
  const std::string cpu_only = "this build of Tandem computes on the CPU, so the model and its KV cache live in main "
                               "memory (see serve.memory)";
  if (!memory.empty()) {
    std::string found;
    for (const auto& [gpu, m] : memory) {
      const auto used = static_cast<uint64_t>(m.first), total = static_cast<uint64_t>(m.second);
      found += (found.empty() ? "GPU " : "; GPU ") + gpu + ": " + config::format_byte_size(total - std::min(used, total)) +
               " free of " + config::format_byte_size(total);
    }
    report.pass("machine.gpu", "NVIDIA GPU memory (NVML" + (models.empty() ? "" : ", " + models) + "): " + found +
                                   "; unused: " + cpu_only);
    return;
  }
  if (!models.empty()) {
    report.warn("machine.gpu",
                "NVIDIA GPU present (" + models + ") but its memory cannot be measured: " + nvml_library +
                    (nvml.loaded() ? " reports no GPU" : " could not be loaded") + "; " + cpu_only,
                "install the NVIDIA driver's NVML library (" + nvml_library + ", in the driver's utils package) if "
                "you want doctor and the monitoring to see GPU memory");
    return;
  }
  report.pass("machine.gpu", "no NVIDIA GPU/driver found (" + nvml_library + " " +
                                 (nvml.loaded() ? "reports no GPU" : "could not be loaded") + "): " + cpu_only);
}

std::vector<std::string> dropping_rules(const std::string& ruleset, int64_t port) {
  std::vector<std::string> found;
  const std::string p = std::to_string(port);
  std::istringstream lines(ruleset);
  for (std::string line; std::getline(lines, line);) {
    const std::string l = lower(line);
    const bool drops = l.find("drop") != std::string::npos || l.find("reject") != std::string::npos;
    if (!drops) continue;
    // nft: "tcp dport 8080 drop", "policy drop" in an input hook; iptables-save: "--dport 8080 -j DROP", ":INPUT DROP".
    const bool names_port = l.find("dport " + p) != std::string::npos || l.find("dport { ") != std::string::npos;
    const bool input_policy = l.find(":input drop") == 0 || l.find("hook input") != std::string::npos ||
                              (l.find("policy drop") != std::string::npos);
    if (names_port || input_policy) {
      size_t start = line.find_first_not_of(" \t");
      found.push_back(start == std::string::npos ? line : line.substr(start));
    }
  }
  return found;
}

void check_firewall(const std::vector<int64_t>& ports, DoctorReport& report) {
  std::string tool = find_program("nft");
  std::string command = tool.empty() ? "" : tool + " list ruleset";
  if (tool.empty()) {
    tool = find_program("iptables-save");
    command = tool;
  }
  if (tool.empty()) {
    report.warn("machine.firewall", "neither nft nor iptables-save is installed, so the firewall rules cannot be read",
                "if a firewall runs elsewhere (cloud security group, host firewall), check that it lets the port in");
    return;
  }
  const auto [out, status] = run_command(command);
  if (status != 0) {
    report.warn("machine.firewall", command + " could not read the rules (exit " + std::to_string(status) + ")",
                "run tandem doctor as root to read them, or check them with sudo " + command);
    return;
  }
  std::string hits;
  for (const int64_t port : ports) {
    for (const std::string& rule : dropping_rules(out, port)) {
      hits += (hits.empty() ? "" : " | ") + rule;
    }
  }
  std::string names;
  for (const int64_t port : ports) names += (names.empty() ? "" : ", ") + std::to_string(port);
  if (hits.empty()) {
    report.pass("machine.firewall", "no rule of `" + command + "` drops or rejects port " + names);
  } else {
    report.warn("machine.firewall", "rules that may drop port " + names + ": " + hits,
                "allow the port (for example: nft add rule inet filter input tcp dport PORT accept)");
  }
}

}  // namespace tandem::doctor
