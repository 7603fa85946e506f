#include "gateway/config/gateway_options.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "config/edit_distance.h"
#include "config/value_checks.h"
#include "monitor/monitor.h"

namespace tandem::gateway {
namespace {

using config::ConfigReport;
using config::OptionValue;
using nlohmann::json;

std::string check_links_listed(const OptionValue& v) {
  const json links = json::parse(std::get<config::JsonText>(v).text, nullptr, false);
  if (links.is_array() && links.empty()) {
    return "no links; list at least one backend, like [{\"name\": \"primary\", \"url\": \"http://127.0.0.1:8080\"}]";
  }
  return "";
}

// The table, in the order a person reads a config file: network, links, failover, proxy, limits,
// timeouts, security, cors, logging.
const std::vector<GatewayOptionSpec> kOptions = {
    {"network.bind_address", "host", &GatewayConfig::bind_address, R"("127.0.0.1")", "",
     "IP address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this host's"},
    {"network.port", "port", &GatewayConfig::port, "8000", "", "TCP port to listen on", &config::check_port},

    {"links", "", &GatewayConfig::links_json, "[]", "",
     "Backends in order of preference (the first is the primary): objects with name, url "
     "(\"http://host:port\"), protocol (\"http\", or \"grpc\" for a backend's network.grpc_port), api_key (sent "
     "upstream) and group (links of a group share load)",
     &check_links_listed, true},

    {"failover.latency_threshold_ms", "", &GatewayConfig::latency_threshold_ms, "200", "milliseconds",
     "A probe slower than this counts as slow", &config::in_range<1, 600000>},
    {"failover.probe_interval_ms", "", &GatewayConfig::probe_interval_ms, "1000", "milliseconds",
     "Time between health probes (GET /health) of each link", &config::in_range<10, 3600000>},
    {"failover.probe_timeout_ms", "", &GatewayConfig::probe_timeout_ms, "1000", "milliseconds",
     "A probe with no answer in this time has failed", &config::in_range<10, 600000>},
    {"failover.slow_probes", "", &GatewayConfig::slow_probes, "3", "probes",
     "Consecutive slow probes that make a healthy link slow", &config::in_range<1, 1000>},
    {"failover.failed_probes", "", &GatewayConfig::failed_probes, "2", "probes",
     "Consecutive failed probes that make a link down (a connection error on a request does at once)",
     &config::in_range<1, 1000>},
    {"failover.recover_probes", "", &GatewayConfig::recover_probes, "10", "probes",
     "Consecutive good probes before a slow or down link is healthy again", &config::in_range<1, 100000>},
    {"failover.min_hold_seconds", "", &GatewayConfig::min_hold_seconds, "30", "seconds",
     "Least time since the last switch before traffic returns to a higher link; doubled for a link "
     "that flaps (more than 2 switches in 10 minutes), up to 300",
     &config::in_range<0, 86400>},

    {"proxy.idle_connections_per_link", "", &GatewayConfig::idle_connections_per_link, "32", "connections",
     "Kept-alive upstream connections each link keeps for reuse", &config::in_range<0, 4096>},

    {"limits.max_body_bytes", "", &GatewayConfig::max_body_bytes, R"("4MiB")", "bytes",
     "Largest request body, as sent and after gzip decoding; larger ones get 413",
     &config::size_in_range<config::kKiB, config::kGiB>},
    {"limits.max_connections", "", &GatewayConfig::max_connections, "1024", "connections",
     "Open client connections; past it new ones are closed at once", &config::in_range<1, 1000000>},

    {"timeouts.read_seconds", "", &GatewayConfig::read_timeout, "30", "seconds",
     "Time a client has to send a whole request", &config::in_range<1, 3600>},
    {"timeouts.idle_seconds", "", &GatewayConfig::idle_timeout, "60", "seconds",
     "Time an idle keep-alive client connection stays open", &config::in_range<1, 3600>},
    {"timeouts.write_seconds", "", &GatewayConfig::write_timeout, "60", "seconds",
     "Time a client may take to read a response before it is dropped", &config::in_range<1, 3600>},
    {"timeouts.upstream_connect_ms", "", &GatewayConfig::upstream_connect_timeout_ms, "1000", "milliseconds",
     "Time to open a connection to a link; past it the link has failed", &config::in_range<10, 600000>},
    {"timeouts.upstream_seconds", "", &GatewayConfig::upstream_timeout, "600", "seconds",
     "Longest wait for the next bytes of a link's response (a queued generation waits too); a "
     "generation that keeps sending is never cut by it, a stalled one is. HTTP and gRPC links alike",
     &config::in_range<1, 86400>},
    {"timeouts.upstream_total_seconds", "", &GatewayConfig::upstream_total_timeout, "3600", "seconds",
     "Longest a whole response from one link may take, however steadily it sends; 0 = no cap. HTTP and "
     "gRPC links alike (a gRPC call's deadline)",
     &config::in_range<0, 604800>},
    {"timeouts.shutdown_grace_seconds", "", &GatewayConfig::shutdown_grace, "10", "seconds",
     "On SIGTERM, time in-flight requests get to finish before they are cut", &config::in_range<0, 3600>},

    {"security.api_keys", "api-key", &GatewayConfig::api_keys, "[]", "",
     "Users' keys, sent as \"Authorization: Bearer KEY\" (not the links' keys); every route but /health "
     "needs one; [] = open",
     &config::check_api_keys},
    {"security.requests_per_minute", "", &GatewayConfig::requests_per_minute, "0", "requests",
     "Requests each key (each client address when open) may make per minute; past it 429 with "
     "Retry-After; 0 = no limit",
     &config::in_range<0, 100000000>},
    {"cors.allowed_origins", "cors-origin", &GatewayConfig::cors_allowed_origins, "[]", "",
     "Browser origins allowed to call the API (\"*\" = any); [] = no CORS headers", &config::check_origins},
    {"logging.level", "log-level", &GatewayConfig::log_level, R"("info")", "", "error, warn, info or debug",
     &config::check_log_level},

    {"monitoring.enabled", "", &GatewayConfig::monitoring_enabled, "true", "",
     "Sample the host and the links once a second, evaluate monitoring.rules and serve /api/stats and /api/alerts"},
    {"monitoring.rules", "", &GatewayConfig::monitoring_rules_json,
     R"([{"name": "link_slow", "metric": "link_rtt_seconds", "above": 0.2, "for_seconds": 3, )"
     R"("action": "switch_link"}, {"name": "memory_high", "metric": "memory_used_ratio", "above": 0.85, )"
     R"("for_seconds": 60, "action": "log"}])",
     "", "Alert rules: objects with name, metric, above or below, for_seconds, action (switch_link, webhook, log), "
         "cooldown_seconds, url (webhook) and labels (see docs/METRICS.md)"},
    {"monitoring.history_seconds", "", &GatewayConfig::monitoring_history_seconds, "300", "seconds",
     "Recent values /api/stats keeps per series (one a second)", &config::in_range<1, 86400>},
    {"monitoring.proc_root", "", &GatewayConfig::monitoring_proc_root, R"("/proc")", "",
     "Where procfs is mounted (tests point it at a fixture tree)"},
    {"monitoring.sys_root", "", &GatewayConfig::monitoring_sys_root, R"("/sys")", "",
     "Where sysfs is mounted: hwmon, thermal zones and RAPL counters are read under it"},
    {"monitoring.nvml_library", "", &GatewayConfig::monitoring_nvml_library, R"("libnvidia-ml.so.1")", "",
     "NVML, loaded with dlopen for GPU memory, utilisation, temperature and power; \"\" = do not load"},

    {"history.path", "", &GatewayConfig::history_path, R"("")", "",
     "SQLite file where the web UI keeps conversations (created if missing; its folder must exist); "
     "\"\" = in memory, lost when the gateway stops"},
    {"ui.root", "", &GatewayConfig::ui_root, R"("")", "",
     "Serve the web UI's files from this folder (like \"web\") instead of the copies built into the binary, "
     "to edit the page without rebuilding; \"\" = built in"},
};

// A request's retry remembers the links it failed on as bits of a 64-bit mask.
constexpr size_t kMaxLinks = 64;

constexpr const char* kLinkKeys[] = {"name", "url", "protocol", "api_key", "group", "compression"};

bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// Each link of the list, with every problem named by its place ("links[1].url").
void check_links(GatewayConfig& c, ConfigReport& report) {
  c.links.clear();
  const json links = json::parse(c.links_json.text, nullptr, false);
  if (!links.is_array()) return;  // the table already said what is wrong
  std::set<std::string> names;
  const std::vector<std::string> known(std::begin(kLinkKeys), std::end(kLinkKeys));
  if (links.size() > kMaxLinks) {
    report.error("links", std::to_string(links.size()) + " links; at most " + std::to_string(kMaxLinks) +
                              " are supported: put several backends behind one link's address, or use groups");
    return;
  }
  for (size_t i = 0; i < links.size(); ++i) {
    const json& item = links[i];
    const std::string at = "links[" + std::to_string(i) + "]";
    LinkConfig link;
    bool good = true;
    for (const auto& [key, value] : item.items()) {
      const std::string field = at + "." + key;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        const std::string guess = config::closest_match(key, known);
        report.error(field, "unknown key" + (guess.empty() ? "; a link has name, url, protocol, api_key and group"
                                                            : "; did you mean " + guess + "?"));
        good = false;
        continue;
      }
      if (!value.is_string()) {
        report.error(field, "expected a string, got " + value.dump());
        good = false;
        continue;
      }
      const std::string text = value.get<std::string>();
      if (key == "name") link.name = text;
      if (key == "url") link.url = text;
      if (key == "protocol") link.protocol = text;
      if (key == "api_key") link.api_key = text;
      if (key == "group") link.group = text;
      if (key == "compression") link.compression = text;
    }
    if (!item.contains("name") || link.name.empty()) {
      report.error(at + ".name", "a link needs a name (like \"primary\"): it names the link in X-Tandem-Link, "
                                 "/api/links and the metrics");
      good = false;
    } else if (!printable(link.name) || link.name.size() > 64 || link.name.find(',') != std::string::npos ||
               link.name.find('"') != std::string::npos) {
      report.error(at + ".name", "\"" + link.name + "\" is not a usable name; use up to 64 printable characters "
                                 "without spaces, commas or quotes");
      good = false;
    } else if (!names.insert(link.name).second) {
      report.error(at + ".name", "duplicate name \"" + link.name + "\"; every link needs its own name");
      good = false;
    }
    if (!item.contains("url")) {
      report.error(at + ".url", "a link needs a url, like \"http://192.168.1.200:8080\"");
      good = false;
    } else if (auto parsed = parse_link_url(link.url, link); !parsed) {
      report.error(at + ".url", parsed.error());
      good = false;
    }
    if (link.protocol == "grpc" && !link.base_path.empty()) {
      report.error(at + ".url", "a gRPC link's url has no path (gRPC names its own); write it like "
                                "\"http://192.168.1.200:9090\", the backend's network.grpc_port");
      good = false;
    } else if (link.compression != "gzip" && link.compression != "none") {
      report.error(at + ".compression", "\"" + link.compression + "\" is not a compression; use \"gzip\" (the "
                                        "default: a gRPC link's requests go gzip-compressed) or \"none\"");
      good = false;
    } else if (link.protocol != "http" && link.protocol != "grpc") {
      report.error(at + ".protocol", "\"" + link.protocol + "\" is not a link protocol; use \"http\" or \"grpc\" "
                                     "(the backend's network.protocol \"grpc\" or \"both\", at its network.grpc_port)");
      good = false;
    }
    if (!link.api_key.empty() && !printable(link.api_key)) {
      report.error(at + ".api_key", "the key contains a space, control or non-ASCII character; use printable ASCII");
      good = false;
    }
    if (good) c.links.push_back(std::move(link));
  }
}

// The links, then the monitoring rules, each problem named by its place.
void cross_check(GatewayConfig& c, ConfigReport& report) {
  check_links(c, report);
  std::vector<monitor::RuleProblem> problems;
  std::vector<std::string> actions = monitor::builtin_actions();
  actions.push_back("switch_link");
  c.monitoring_rules = monitor::parse_rules(c.monitoring_rules_json.text, "monitoring.rules", actions, problems);
  for (const auto& p : problems) report.error(p.field, p.message);
}

}  // namespace

Status parse_link_url(const std::string& url, LinkConfig& link) {
  const std::string fix = "; write it as http://HOST:PORT, like \"http://192.168.1.200:8080\"";
  std::string_view rest(url);
  if (rest.starts_with("https://")) {
    return make_error("\"" + url + "\" uses https, which links do not support yet; use http:// on a trusted network");
  }
  if (!rest.starts_with("http://")) return make_error("\"" + url + "\" does not start with http://" + fix);
  rest.remove_prefix(7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  while (path.ends_with('/')) path.remove_suffix(1);
  if (authority.empty()) return make_error("\"" + url + "\" has no host" + fix);
  if (authority.find('@') != std::string_view::npos) {
    return make_error("\"" + url + "\" carries credentials; put the link's key in api_key instead");
  }
  std::string_view host = authority;
  uint16_t port = 80;
  // "[v6 address]:port" or "host:port"; the port is optional.
  size_t colon = std::string_view::npos;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return make_error("\"" + url + "\" has an unclosed [" + fix);
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return make_error("\"" + url + "\" has text after the ]" + fix);
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
  }
  if (colon != std::string_view::npos) {
    if (authority.front() != '[') host = authority.substr(0, colon);
    const std::string_view digits = authority.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < 1 || value > 65535) {
      return make_error("\"" + url + "\" has a bad port \"" + std::string(digits) + "\"; use 1..65535" + fix);
    }
    port = static_cast<uint16_t>(value);
  }
  if (host.empty()) return make_error("\"" + url + "\" has no host" + fix);
  for (char ch : host) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '-' || ch == '[' || ch == ']' || ch == ':';
    if (!ok) return make_error("\"" + url + "\" has a host with a character a host name cannot have" + fix);
  }
  if (path.find_first_of("?# ") != std::string_view::npos) {
    return make_error("\"" + url + "\" has a query, fragment or space; give the backend's address only" + fix);
  }
  link.host = std::string(host);
  if (link.host.size() > 2 && link.host.front() == '[' && link.host.back() == ']') {
    link.host = link.host.substr(1, link.host.size() - 2);
  }
  link.port = port;
  link.base_path = std::string(path);
  return ok_status();
}

const std::vector<GatewayOptionSpec>& gateway_option_table() { return kOptions; }

const config::OptionSchema<GatewayConfig>& gateway_schema() {
  static const config::OptionSchema<GatewayConfig> schema{
      kOptions, &cross_check, R"({"links": [{"name": "primary", "url": "http://192.168.1.200:8080"}]})",
      /*unknown_keys_are_errors=*/true};
  return schema;
}

GatewayConfig default_gateway_config() { return config::default_config_of(gateway_schema()); }

LoadedGatewayConfig load_gateway_config(std::string_view json_text, std::string_view source,
                                        const std::vector<config::Override>& overrides) {
  return config::load_options(gateway_schema(), json_text, source, overrides);
}

LoadedGatewayConfig load_gateway_config_file(const std::string& path, const std::vector<config::Override>& overrides) {
  return config::load_options_file(gateway_schema(), path, overrides);
}

}  // namespace tandem::gateway
