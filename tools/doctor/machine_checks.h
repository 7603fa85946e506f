#pragma once
// Checks of the machine itself, whatever the config: the CPU's vector features and the kernels
// they select, memory and swap, and the firewall rules (read-only) that could drop a port.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/doctor/doctor_check.h"

namespace tandem::doctor {

struct MemoryFacts {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
  uint64_t swap_total_bytes = 0;
};

// From /proc/meminfo's text; nullopt when MemTotal is missing.
std::optional<MemoryFacts> parse_meminfo(const std::string& text);
std::optional<MemoryFacts> read_memory(const std::string& proc_root = "/proc");

void check_cpu(DoctorReport& report);
void check_swap(const std::optional<MemoryFacts>& memory, DoctorReport& report);
// The "out of memory" check's GPU part: each NVIDIA GPU's free and total memory, read through
// NVML (`nvml_library`, dlopen'ed as the monitoring does); a PASS saying "no NVIDIA GPU/driver
// found" when there is none; a WARN when the driver's /proc files name a GPU that NVML cannot
// measure. This build computes on the CPU, so GPU memory does not count, which the line says
// rather than leaving people to wonder.
void check_gpu(DoctorReport& report, const std::string& proc_root = "/proc",
               const std::string& nvml_library = "libnvidia-ml.so.1");

// Lines of a ruleset (nft list ruleset, or iptables-save) that drop or reject `port`, or that set
// a dropping default policy on input (exposed for the unit tests).
std::vector<std::string> dropping_rules(const std::string& ruleset, int64_t port);
// Runs `nft list ruleset`, or `iptables-save` when nft is absent, and reports what could drop
// any of `ports`; says so when neither can be read (they need root).
void check_firewall(const std::vector<int64_t>& ports, DoctorReport& report);

}  // namespace tandem::doctor
