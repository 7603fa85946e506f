#include "tools/doctor/serve_checks.h"

#include <filesystem>
#include <map>

#include "config/byte_size.h"
#include "config/config_loader.h"
#include "config/host_checks.h"
#include "gguf/gguf_reader.h"
#include "quant/ggml_type.h"
#include "tools/bench/target_url.h"
#include "tools/doctor/endpoint_checks.h"

namespace tandem::doctor {
namespace {

constexpr const char* kPrefix = "serve.";

// The KV bytes the server will hold: every sequence at full context (capped at the training
// context, as check_kv_budget caps it).
uint64_t kv_bytes(const config::ServerConfig& config, const config::KvGeometry& g) {
  int64_t n_ctx = config.context_size;
  if (g.n_ctx_train > 0 && n_ctx > g.n_ctx_train) n_ctx = g.n_ctx_train;
  return g.bytes_per_token() * static_cast<uint64_t>(n_ctx) * static_cast<uint64_t>(config.max_batch_size);
}

}  // namespace

void check_memory_need(const config::ServerConfig& config, const MemoryNeed& need,
                       const std::optional<MemoryFacts>& memory, DoctorReport& report) {
  const std::string name = std::string(kPrefix) + "memory";
  const uint64_t total = need.weights_bytes + need.kv_bytes;
  const std::string what = "weights " + config::format_byte_size(need.weights_bytes) + " + KV cache " +
                           config::format_byte_size(need.kv_bytes) + " (" + std::to_string(config.max_batch_size) +
                           " x " + std::to_string(config.context_size) + " tokens) = " +
                           config::format_byte_size(total);
  if (!memory || memory->available_bytes == 0) {
    report.warn(name, what + "; the memory available could not be read from /proc/meminfo", "check that /proc is mounted");
    return;
  }
  const std::string against = " against " + config::format_byte_size(memory->available_bytes) + " available";
  const std::string lower = "lower model.max_batch_size or model.context_size (the KV cache grows with both), "
                            "or use a smaller or more quantized model";
  if (total > memory->available_bytes) {
    report.fail(name, what + against + ": it cannot fit (out of memory)", lower);
  } else if (total > memory->available_bytes / 10 * 9) {
    report.warn(name, what + against + ": less than 10% would be left", lower);
  } else {
    report.pass(name, what + against);
  }
}

void check_quantization(const std::string& model_path, DoctorReport& report) {
  const std::string name = std::string(kPrefix) + "model.quantization";
  auto file = gguf::GgufFile::open(model_path);
  if (!file) return;  // check_model_path has said why
  std::map<std::string, uint64_t> bytes_by_type;
  uint64_t total = 0;
  for (const auto& tensor : file->tensors()) {
    if (tensor.shape.size() < 2) continue;  // norms and biases stay F32 in every file
    bytes_by_type[std::string(ggml_type_name(tensor.type))] += tensor.n_bytes;
    total += tensor.n_bytes;
  }
  if (bytes_by_type.empty()) return;
  auto main = bytes_by_type.begin();
  for (auto it = bytes_by_type.begin(); it != bytes_by_type.end(); ++it) {
    if (it->second > main->second) main = it;
  }
  const int share = total ? static_cast<int>(100.0 * static_cast<double>(main->second) / static_cast<double>(total)) : 0;
  const std::string message = std::filesystem::path(model_path).filename().string() + ": " + main->first + " (" +
                              std::to_string(share) + "% of the matrix bytes)";
  if (main->first == "F32" || main->first == "F16" || main->first == "BF16") {
    report.warn(name, message + ", not quantized: each token reads 2-4x the bytes of Q8_0 or Q4_K",
                "quantize it: tandem quantize --type q4_k_m (or q8_0 for near-lossless)");
  } else {
    report.pass(name, message + ", quantized");
  }
}

std::optional<int64_t> check_serve(const std::string& config_path, const std::optional<MemoryFacts>& memory,
                                   DoctorReport& report) {
  // The one code path: serve's loader, then serve's host checks, one by one.
  config::LoadedConfig loaded = config::load_config_file(config_path);
  report.add_config_problems(kPrefix, loaded.report, "config",
                             config_path + " loads and validates as tandem serve would load it");
  if (loaded.report.has_errors()) return std::nullopt;
  config::ServerConfig& config = loaded.config;
  const config::HostFacts facts = config::host_facts_from_system();

  config::ConfigReport address;
  config::check_bind_address(config, facts, address);
  report.add_config_problems(kPrefix, address, "network.bind_address",
                             config.bind_address + " is an address of this host");

  // network.protocol: the HTTP listener ("http", "both"), the gRPC one ("grpc", "both"); a gRPC
  // listener has no GET /health, so its health service is asked.
  const std::string local = local_address_for(config.bind_address);
  if (config.protocol != "grpc") {
    if (check_listener(report, kPrefix, config.bind_address, config.port, "serve", config_path)) {
      bench::TargetUrl target{local, static_cast<uint16_t>(config.port), ""};
      check_connect_and_health(report, std::string(kPrefix) + "server", target, "", 2000, "network.port");
    }
  }
  if (config.protocol != "http") {
    const std::string prefix = std::string(kPrefix) + "grpc.";
    if (check_listener(report, prefix, config.bind_address, config.grpc_port, "serve", config_path,
                       "network.grpc_port")) {
      check_connect_and_grpc_health(report, prefix + "server", local, static_cast<uint16_t>(config.grpc_port), "",
                                    2000, "network.grpc_port");
    }
  }

  config::ConfigReport model;
  const auto geometry = config::check_model_path(config, model);
  report.add_config_problems(kPrefix, model, "model.path",
                             config.model_path + " is a GGUF model Tandem can serve" +
                                 (geometry ? " (" + std::to_string(geometry->n_layer) + " layers, trained on " +
                                                 std::to_string(geometry->n_ctx_train) + " tokens of context)"
                                           : std::string()));
  if (geometry) {
    check_quantization(config.model_path, report);
    config::ConfigReport kv;
    config::check_kv_budget(config, *geometry, kv);
    const uint64_t needed = kv_bytes(config, *geometry);
    report.add_config_problems(kPrefix, kv, "kv_cache",
                               std::to_string(config.max_batch_size) + " sequences x " +
                                   std::to_string(config.context_size) + " tokens need " +
                                   config::format_byte_size(needed) + " of KV cache, within performance.cache_size (" +
                                   config::format_byte_size(config.cache_size.bytes) + ")");
    std::error_code ec;
    const uint64_t weights = std::filesystem::file_size(config.model_path, ec);
    check_memory_need(config, MemoryNeed{ec ? 0 : weights, needed}, memory, report);
  }

  config::ConfigReport threads;
  config::check_threads(config, facts, threads);
  report.add_config_problems(kPrefix, threads, "performance.threads",
                             (config.threads == 0 ? std::string("threads chosen by Tandem")
                                                  : std::to_string(config.threads) + " threads") +
                                 " on " + std::to_string(facts.physical_cores) +
                                 " physical cores (the guide: about 1.5 x cores)");
  config::ConfigReport deployment;
  config::check_deployment(config, deployment);
  if (!deployment.problems.empty()) report.add_config_problems(kPrefix, deployment, "deployment", "");
  return config.protocol == "grpc" ? config.grpc_port : config.port;
}

}  // namespace tandem::doctor
