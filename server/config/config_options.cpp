#include "config/config_options.h"

#include "config/value_checks.h"

namespace tandem::config {
namespace {

std::string check_protocol(const OptionValue& v) {
  const auto& s = std::get<std::string>(v);
  if (s == "http" || s == "grpc" || s == "both") return "";
  if (s == "https") {
    return "\"https\" is not supported by this build; use \"http\" and terminate TLS at a reverse proxy "
           "(nginx, haproxy) in front of Tandem";
  }
  return "\"" + s + "\" is not a protocol Tandem serves; use \"http\", \"grpc\" or \"both\"";
}

std::string check_grpc_compression(const OptionValue& v) {
  const auto& s = std::get<std::string>(v);
  if (s == "gzip" || s == "none") return "";
  return "\"" + s + "\" is not a compression the gRPC listener offers; use \"gzip\" or \"none\"";
}

std::string check_model_name(const OptionValue& v) {
  for (unsigned char c : std::get<std::string>(v)) {
    if (c < 0x20 || c == 0x7f) return "the name contains a control character; use printable text";
  }
  return "";
}

std::string check_model_directory(const OptionValue& v) {
  const auto& s = std::get<std::string>(v);
  if (s.empty() || s.starts_with('/')) return "";
  return "\"" + s + "\" is a relative path; give an absolute one, like /srv/models";
}

std::string check_allowed_hosts(const OptionValue& v) {
  for (const auto& host : std::get<std::vector<std::string>>(v)) {
    const bool bad = host.empty() || host.find("://") != std::string::npos ||
                     host.find_first_of("/ \t@") != std::string::npos;
    if (bad) {
      return "\"" + host + "\" is not a host name; write the names clients use to reach the server, without "
             "scheme or path, like \"localhost\", \"127.0.0.1\" or \"llm.example.com:8080\"";
    }
  }
  return "";
}

std::string check_model_aliases(const OptionValue& v) {
  for (const auto& alias : std::get<std::vector<std::string>>(v)) {
    if (alias.empty()) return "an alias is empty; give each model name clients may send, like \"gpt-4o-mini\"";
    if (std::string e = check_model_name(OptionValue{alias}); !e.empty()) return "alias \"" + alias + "\": " + e;
  }
  return "";
}

std::string check_chat_template_file(const OptionValue& v) {
  const auto& s = std::get<std::string>(v);
  if (s.empty() || s.starts_with('/')) return "";
  return "\"" + s + "\" is a relative path; give an absolute one, like /srv/templates/chatml.jinja";
}

// The table. Keep it in the order a person reads a config file: network, model, performance,
// server, limits, timeouts, security, cors, logging.
const std::vector<OptionSpec> kOptions = {
    {"network.bind_address", "host", &ServerConfig::bind_address, R"("127.0.0.1")", "",
     "IP address to listen on: an address of this host, 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"},
    {"network.port", "port", &ServerConfig::port, "8080", "", "TCP port to listen on", &check_port},
    {"network.protocol", "", &ServerConfig::protocol, R"("http")", "",
     "Protocols served: \"http\" (the OpenAI API on network.port), \"grpc\" (tandem.v1.Inference on "
     "network.grpc_port only: no HTTP port, so no GET /health or /metrics; health is grpc.health.v1 and the "
     "metrics are GetStats) or \"both\"; terminate TLS at a reverse proxy",
     &check_protocol},
    {"network.grpc_port", "grpc-port", &ServerConfig::grpc_port, "9090", "",
     "TCP port of the gRPC listener (proto/tandem/v1/inference.proto) when network.protocol is \"grpc\" or "
     "\"both\"",
     &check_port},
    {"network.grpc_keepalive_seconds", "", &ServerConfig::grpc_keepalive_seconds, "30", "seconds",
     "The gRPC listener pings an idle connection this often (and drops it after 10 s without an answer), so NAT "
     "and firewall state survives idle links",
     &in_range<10, 3600>},
    {"network.grpc_compression", "", &ServerConfig::grpc_compression, R"("gzip")", "",
     "How the gRPC listener answers: \"gzip\" (to clients that accept it) or \"none\"; compressed requests are "
     "accepted either way",
     &check_grpc_compression},

    {"model.path", "model", &ServerConfig::model_path, R"("")", "",
     "Absolute path of the GGUF model file, or of a directory holding exactly one .gguf file", nullptr, true},
    {"model.name", "model-name", &ServerConfig::model_name, R"("")", "",
     "Model id that clients send and /v1/models lists; \"\" = the file name without .gguf", &check_model_name},
    {"model.directory", "", &ServerConfig::model_directory, R"("")", "",
     "Absolute path of the directory /admin/model/load may load .gguf files from (symlinks out of it are "
     "refused); \"\" = load only reloads model.path",
     &check_model_directory},
    {"model.max_batch_size", "", &ServerConfig::max_batch_size, "1", "sequences",
     "Sequences decoded together; each needs context_size tokens of KV cache", &in_range<1, 1024>},
    {"model.gpu_id", "", &ServerConfig::gpu_id, "-1", "",
     "GPU to run on; -1 = CPU (this build runs on the CPU only)", &in_range<-1, 63>},
    {"model.context_size", "ctx-size", &ServerConfig::context_size, "4096", "tokens",
     "Context window per sequence (prompt + generated); capped at the model's training context",
     &in_range<16, 1048576>},
    {"model.prompt_batch_size", "", &ServerConfig::prompt_batch_size, "256", "tokens",
     "Prompt tokens fed to the model per forward step, beside one token for each running sequence: prompts "
     "that arrive together share it, a longer one is read in pieces; larger = fewer steps to the first token "
     "for a burst of prompts, smaller = shorter pauses between the running sequences' tokens",
     &in_range<1, 65536>},
    {"model.special_tokens_in_content", "", &ServerConfig::special_tokens_in_content, "false", "",
     "true = special-token text inside chat messages (\"<|im_end|>\") becomes control tokens, so a client can "
     "write chat markup and forge turns; false = it tokenizes as plain text and only the chat template's own "
     "markup yields control tokens"},
    {"model.aliases", "", &ServerConfig::model_aliases, "[]", "",
     "Further names clients may send as \"model\" for this model (a client that hard-codes \"gpt-4o-mini\" still "
     "reaches it); responses name model.name",
     &check_model_aliases},
    {"model.chat_template_file", "", &ServerConfig::chat_template_file, R"("")", "",
     "Absolute path of a Jinja chat template used instead of the model's own; \"\" = the model's, or ChatML (with a "
     "warning in the log) for a model that ships none",
     &check_chat_template_file},

    {"performance.threads", "threads", &ServerConfig::threads, "0", "threads",
     "Compute threads; 0 = chosen from the machine (about 1.5 x physical cores)", &in_range<0, 1024>},
    {"performance.cache_size", "cache-size", &ServerConfig::cache_size, R"("1GiB")", "bytes",
     "Memory for the KV cache of all sequences: max_batch_size x context_size tokens must fit",
     &size_in_range<kMiB, 64 * kTiB>},

    {"server.max_concurrent_requests", "max-concurrent-requests", &ServerConfig::max_concurrent_requests, "64",
     "requests", "Generation requests running or queued; past it a request gets 429 at once",
     &in_range<1, 1000000>},
    {"server.default_max_tokens", "", &ServerConfig::default_max_tokens, "0", "tokens",
     "max_tokens for a request that gives none; 0 = until the context is full", &in_range<0, 1048576>},

    {"limits.max_body_bytes", "", &ServerConfig::max_body_bytes, R"("4MiB")", "bytes",
     "Largest request body, as sent and after gzip decoding; larger ones get 413", &size_in_range<kKiB, kGiB>},
    {"limits.max_tokens", "", &ServerConfig::max_tokens_limit, "0", "tokens",
     "Largest max_tokens a request may ask for; 0 = the context size", &in_range<0, 1048576>},
    {"limits.max_connections", "", &ServerConfig::max_connections, "1024", "connections",
     "Client connections open at once; past it a new one gets 503 and is closed (each takes a file descriptor)",
     &in_range<1, 1000000>},
    {"limits.max_connections_per_address", "", &ServerConfig::max_connections_per_address, "256", "connections",
     "Client connections open at once from one IP address, so one client cannot take every slot; a gateway "
     "or reverse proxy in front is one address and needs its in-flight requests plus its idle pool",
     &in_range<1, 1000000>},

    {"timeouts.read_seconds", "", &ServerConfig::read_timeout, "30", "seconds",
     "Time a client has to send a whole request", &in_range<1, 3600>},
    {"timeouts.idle_seconds", "", &ServerConfig::idle_timeout, "60", "seconds",
     "Time an idle keep-alive connection stays open", &in_range<1, 3600>},
    {"timeouts.write_seconds", "", &ServerConfig::write_timeout, "60", "seconds",
     "Time a client may take to read a response before it is dropped", &in_range<1, 3600>},
    {"timeouts.generation_seconds", "", &ServerConfig::generation_timeout, "600", "seconds",
     "Longest a single generation may run, counted from its start (time queued is not counted), then it ends "
     "with finish_reason \"length\"; 0 = no limit",
     &in_range<0, 86400>},
    {"timeouts.queue_seconds", "", &ServerConfig::queue_timeout, "60", "seconds",
     "Longest a request may wait in the queue for a sequence slot, then it gets 503 (code \"queue_timeout\") "
     "with Retry-After; 0 = no limit",
     &in_range<0, 86400>},
    {"timeouts.shutdown_grace_seconds", "", &ServerConfig::shutdown_grace, "30", "seconds",
     "On SIGTERM, time in-flight requests get to finish before they are cancelled", &in_range<0, 3600>},

    {"security.api_keys", "api-key", &ServerConfig::api_keys, "[]", "",
     "Keys clients send as \"Authorization: Bearer KEY\"; every route but /health needs one; [] = open",
     &check_api_keys},
    {"security.admin_api_keys", "", &ServerConfig::admin_api_keys, "[]", "",
     "Keys that /admin routes accept (user keys never do); [] = admin API off unless "
     "admin_on_loopback_without_key",
     &check_api_keys},
    {"security.admin_on_loopback_without_key", "", &ServerConfig::admin_on_loopback_without_key, "false", "",
     "Let clients on this machine (127.0.0.1, ::1, Host localhost) use /admin routes without a key"},
    {"security.allowed_hosts", "", &ServerConfig::allowed_hosts, "[]", "",
     "Host header names the server answers to (\"name\" or \"name:port\"; defeats DNS rebinding); [] = any",
     &check_allowed_hosts},
    {"cors.allowed_origins", "cors-origin", &ServerConfig::cors_allowed_origins, "[]", "",
     "Browser origins allowed to call the API (\"*\" = any); [] = no CORS headers", &check_origins},
    {"logging.level", "log-level", &ServerConfig::log_level, R"("info")", "", "error, warn, info or debug",
     &check_log_level},

    {"monitoring.enabled", "", &ServerConfig::monitoring_enabled, "true", "",
     "Sample the host once a second, evaluate monitoring.rules and serve /api/stats and /api/alerts"},
    {"monitoring.rules", "", &ServerConfig::monitoring_rules_json,
     R"([{"name": "memory_high", "metric": "memory_used_ratio", "above": 0.85, "for_seconds": 60, )"
     R"("action": "unload_model"}, {"name": "temperature_high", "metric": "temperature_celsius", "above": 75, )"
     R"("for_seconds": 30, "action": "reduce_batch"}])",
     "", "Alert rules: objects with name, metric, above or below, for_seconds, action (unload_model, reduce_batch, "
         "webhook, log), cooldown_seconds (default 60), url (webhook) and labels (see docs/METRICS.md)"},
    {"monitoring.unload_grace_seconds", "", &ServerConfig::monitoring_unload_grace, "30", "seconds",
     "When memory_high unloads the model, time requests in flight get to finish before they are cancelled",
     &in_range<0, 3600>},
    {"monitoring.retry_after_seconds", "", &ServerConfig::monitoring_retry_after, "30", "seconds",
     "Retry-After of the 503 a request gets while the model is unloaded for lack of memory", &in_range<1, 3600>},
    {"monitoring.history_seconds", "", &ServerConfig::monitoring_history_seconds, "300", "seconds",
     "Recent values /api/stats keeps per series (one a second)", &in_range<1, 86400>},
    {"monitoring.proc_root", "", &ServerConfig::monitoring_proc_root, R"("/proc")", "",
     "Where procfs is mounted (tests point it at a fixture tree)"},
    {"monitoring.sys_root", "", &ServerConfig::monitoring_sys_root, R"("/sys")", "",
     "Where sysfs is mounted: hwmon, thermal zones and RAPL counters are read under it"},
    {"monitoring.nvml_library", "", &ServerConfig::monitoring_nvml_library, R"("libnvidia-ml.so.1")", "",
     "NVML, loaded with dlopen for GPU memory, utilisation, temperature and power; \"\" = do not load"},
};

}  // namespace

const std::vector<OptionSpec>& option_table() { return kOptions; }

const OptionSpec* find_option(std::string_view name) { return find_option_in(kOptions, name); }

std::string_view type_name(const FieldRef& field) { return type_name(static_cast<OptionKind>(field.index())); }

Result<OptionValue> read_value(const OptionSpec& spec, const nlohmann::json& value) {
  return read_json_value(spec.kind(), value);
}

Result<OptionValue> read_text(const OptionSpec& spec, std::string_view text) { return read_text_value(spec.kind(), text); }

std::string default_text(const OptionSpec& spec) { return std::string(spec.default_json); }

std::string options_reference() { return options_reference_of(kOptions); }

}  // namespace tandem::config
