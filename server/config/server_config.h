#pragma once
// Everything `tandem serve` is configured with. The defaults, units, help and validation of each
// field are declared once, in config_options.cpp; this struct only holds the values.

#include <cstdint>
#include <string>
#include <vector>

#include "config/byte_size.h"
#include "config/option_table.h"
#include "monitor/rules.h"

namespace tandem::config {

struct ServerConfig {
  // network
  std::string bind_address;
  int64_t port = 0;
  std::string protocol;  // "http", "grpc" or "both"
  int64_t grpc_port = 0;
  int64_t grpc_keepalive_seconds = 0;
  std::string grpc_compression;  // "gzip" or "none": how gRPC answers are sent
  // model
  std::string model_path;  // absolute; a directory holding one .gguf file is resolved to that file
  std::string model_name;  // the id clients send as "model"; empty = the file name without .gguf
  std::string model_directory;  // where /admin/model/load may load from; empty = only model.path reloads
  int64_t max_batch_size = 0;
  int64_t gpu_id = 0;
  int64_t context_size = 0;  // tokens per sequence
  int64_t prompt_batch_size = 0;
  bool special_tokens_in_content = false;  // chat message text may yield control tokens ("<|im_end|>")
  std::vector<std::string> model_aliases;  // further names clients may send as "model"
  std::string chat_template_file;          // replaces the model's template; empty = the model's (or ChatML)
  // performance
  int64_t threads = 0;  // 0 = chosen from the machine
  ByteSize cache_size;  // KV cache budget for all sequences together
  // server
  int64_t max_concurrent_requests = 0;  // running + queued; past it a request gets 429 at once
  int64_t default_max_tokens = 0;       // when a request gives none; 0 = until the context is full
  // limits
  ByteSize max_body_bytes;  // request body as sent and after gzip decoding
  int64_t max_tokens_limit = 0;  // the largest max_tokens a request may ask for; 0 = context_size
  int64_t max_connections = 0;              // open client connections in all
  int64_t max_connections_per_address = 0;  // open client connections from one IP address
  // timeouts (seconds)
  double read_timeout = 0;
  double idle_timeout = 0;
  double write_timeout = 0;
  double generation_timeout = 0;  // counted from admission; 0 = none
  double queue_timeout = 0;       // longest wait for a sequence slot, then 503; 0 = none
  double shutdown_grace = 0;
  // security
  std::vector<std::string> api_keys;  // empty = no authentication
  std::vector<std::string> admin_api_keys;  // the only keys the /admin routes accept; empty = admin off
  bool admin_on_loopback_without_key = false;  // admin routes open to loopback clients with no key
  std::vector<std::string> allowed_hosts;  // Host header names accepted; empty = any
  // cors
  std::vector<std::string> cors_allowed_origins;  // empty = no CORS headers; "*" = any origin
  // logging
  std::string log_level;
  // monitoring (issue 13; the rules' syntax is monitor/rules.h)
  bool monitoring_enabled = true;
  std::string monitoring_proc_root;  // "/proc"; tests point it at a fixture tree
  std::string monitoring_sys_root;   // "/sys"
  std::string monitoring_nvml_library;
  JsonText monitoring_rules_json;
  std::vector<monitor::Rule> monitoring_rules;  // filled from monitoring_rules_json when the config is loaded
  double monitoring_unload_grace = 0;         // seconds in-flight requests get before an unload cancels them
  int64_t monitoring_retry_after = 0;         // Retry-After of the 503 while memory is short
  int64_t monitoring_history_seconds = 0;     // samples kept per series for /api/stats
};

}  // namespace tandem::config
