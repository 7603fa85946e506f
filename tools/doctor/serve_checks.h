#pragma once
// `tandem doctor --config serve.json`: the config loaded and validated by serve's own loader and
// host checks (server/config: load_config_file, check_bind_address, check_model_path,
// check_kv_budget, check_threads, check_deployment), each turned into report lines, plus what
// the guide asks beyond them: who holds the port, /health, the model's quantization, and the
// weights and KV cache against the memory available.

#include <optional>
#include <string>

#include "config/server_config.h"
#include "tools/doctor/doctor_check.h"
#include "tools/doctor/machine_checks.h"

namespace tandem::doctor {

// The bytes serving needs: the weights (the file, mapped) and the KV cache of max_batch_size
// sequences of context_size tokens.
struct MemoryNeed {
  uint64_t weights_bytes = 0;
  uint64_t kv_bytes = 0;
};

// PASS when `need` fits in the available memory, WARN above 90% of it, FAIL past it, with what to
// lower (exposed for the unit tests).
void check_memory_need(const config::ServerConfig& config, const MemoryNeed& need,
                       const std::optional<MemoryFacts>& memory, DoctorReport& report);

// The main share of the model's weight bytes by type: PASS for a quantized type, WARN for
// F32/F16/BF16 (several times the bytes to read per token).
void check_quantization(const std::string& model_path, DoctorReport& report);

// Returns the loaded config's port (for the firewall check), or nullopt when it did not load.
std::optional<int64_t> check_serve(const std::string& config_path, const std::optional<MemoryFacts>& memory,
                                   DoctorReport& report);

}  // namespace tandem::doctor
