#pragma once
// Everything `tandem gateway` is configured with. Each option's default, unit, help and check are
// declared once, in gateway_options.cpp; this struct only holds the values.

#include <cstdint>
#include <string>
#include <vector>

#include "config/option_table.h"
#include "monitor/rules.h"

namespace tandem::gateway {

// One backend the gateway forwards to, from the config's "links" list (validated by
// gateway_options.cpp's cross-check, which also splits the URL).
struct LinkConfig {
  std::string name;
  std::string url;              // as written: "http://192.168.1.200:8080"
  std::string protocol = "http";
  std::string api_key;          // sent upstream as "Authorization: Bearer"; "" = none
  std::string group;            // links of one group share the load (least outstanding requests)
  std::string compression = "gzip";  // a gRPC link's calls: "gzip" or "none" (HTTP links send none)
  // From the URL:
  std::string host;             // "192.168.1.200"
  uint16_t port = 80;
  std::string base_path;        // "" or "/prefix" (no trailing slash), put before every path
};

struct GatewayConfig {
  // network
  std::string bind_address;
  int64_t port = 0;
  // links, in order of preference: the first is the primary
  config::JsonText links_json;
  std::vector<LinkConfig> links;  // filled from links_json when the config is loaded
  // failover
  int64_t latency_threshold_ms = 0;
  int64_t probe_interval_ms = 0;
  int64_t probe_timeout_ms = 0;
  int64_t slow_probes = 0;
  int64_t failed_probes = 0;
  int64_t recover_probes = 0;
  double min_hold_seconds = 0;
  // proxy
  int64_t idle_connections_per_link = 0;  // kept-alive upstream connections waiting for reuse
  // limits
  config::ByteSize max_body_bytes;
  int64_t max_connections = 0;
  // timeouts (seconds unless named otherwise)
  double read_timeout = 0;
  double idle_timeout = 0;
  double write_timeout = 0;
  int64_t upstream_connect_timeout_ms = 0;
  double upstream_timeout = 0;  // longest wait for the next bytes of an upstream response
  double upstream_total_timeout = 0;  // longest whole response from one link; 0 = no cap
  double shutdown_grace = 0;
  // security
  std::vector<std::string> api_keys;  // users' keys; empty = open
  int64_t requests_per_minute = 0;    // per key (per client address when open); 0 = no limit
  // cors
  std::vector<std::string> cors_allowed_origins;
  // logging
  std::string log_level;
  // monitoring (issue 13; the rules' syntax is monitor/rules.h, the actions log, webhook, switch_link)
  bool monitoring_enabled = true;
  std::string monitoring_proc_root;
  std::string monitoring_sys_root;
  std::string monitoring_nvml_library;
  int64_t monitoring_history_seconds = 0;
  config::JsonText monitoring_rules_json;
  std::vector<monitor::Rule> monitoring_rules;  // filled from monitoring_rules_json when the config is loaded
  // web UI (issue 12)
  std::string history_path;  // SQLite file of the UI's conversations; "" = in memory
  std::string ui_root;       // serve the page's files from this folder instead of the binary; "" = built in
};

}  // namespace tandem::gateway
