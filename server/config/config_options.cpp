#include "config/config_options.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/byte_size.h"

namespace tandem::config {
namespace {

using nlohmann::json;

double as_number(const OptionValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<ByteSize>(&v)) return static_cast<double>(b->bytes);
  return 0;
}

std::string number_text(double x) {
  std::ostringstream ss;
  ss << x;
  return ss.str();
}

template <int64_t Lo, int64_t Hi>
std::string in_range(const OptionValue& v) {
  const double x = as_number(v);
  if (x >= static_cast<double>(Lo) && x <= static_cast<double>(Hi)) return "";
  return number_text(x) + " is outside " + std::to_string(Lo) + ".." + std::to_string(Hi) + "; choose a value in that range";
}

template <uint64_t Lo, uint64_t Hi>
std::string size_in_range(const OptionValue& v) {
  const uint64_t bytes = std::get<ByteSize>(v).bytes;
  if (bytes >= Lo && bytes <= Hi) return "";
  return format_byte_size(bytes) + " is outside " + format_byte_size(Lo) + ".." + format_byte_size(Hi) +
         "; choose a size in that range";
}

std::string check_port(const OptionValue& v) {
  const int64_t port = std::get<int64_t>(v);
  if (port >= 1 && port < 1024) {
    return std::to_string(port) + " is a privileged port (below 1024), which needs root; choose 1024..65535 "
           "and put a reverse proxy in front if clients need the low port";
  }
  if (port < 1 || port > 65535) return std::to_string(port) + " is not a TCP port; choose 1024..65535";
  return "";
}

std::string check_protocol(const OptionValue& v) {
  const auto& s = std::get<std::string>(v);
  if (s == "http") return "";
  if (s == "https") {
    return "\"https\" is not supported by this build; use \"http\" and terminate TLS at a reverse proxy "
           "(nginx, haproxy) in front of Tandem";
  }
  return "\"" + s + "\" is not a protocol Tandem serves; use \"http\"";
}

std::string check_log_level(const OptionValue& v) {
  static constexpr std::array<std::string_view, 4> kLevels = {"error", "warn", "info", "debug"};
  const auto& s = std::get<std::string>(v);
  if (std::find(kLevels.begin(), kLevels.end(), s) != kLevels.end()) return "";
  return "\"" + s + "\" is not a log level; use one of error, warn, info, debug";
}

std::string check_api_keys(const OptionValue& v) {
  for (const auto& key : std::get<std::vector<std::string>>(v)) {
    if (key.empty()) return "an API key is empty; remove it or give a secret of 16 characters or more";
    for (unsigned char c : key) {
      if (c <= 0x20 || c >= 0x7f) {
        return "an API key contains a space, control or non-ASCII character, which cannot travel in an "
               "Authorization header; use printable ASCII only";
      }
    }
  }
  return "";
}

std::string check_origins(const OptionValue& v) {
  for (const auto& origin : std::get<std::vector<std::string>>(v)) {
    if (origin == "*") continue;
    const bool scheme = origin.starts_with("http://") || origin.starts_with("https://");
    if (!scheme || origin.ends_with("/")) {
      return "\"" + origin + "\" is not an origin; write \"*\" or a scheme and host without a path, "
             "like \"https://chat.example.com\"";
    }
  }
  return "";
}

std::string check_model_name(const OptionValue& v) {
  for (unsigned char c : std::get<std::string>(v)) {
    if (c < 0x20 || c == 0x7f) return "the name contains a control character; use printable text";
  }
  return "";
}

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = kKiB * 1024;
constexpr uint64_t kGiB = kMiB * 1024;
constexpr uint64_t kTiB = kGiB * 1024;

// The table. Keep it in the order a person reads a config file: network, model, performance,
// server, limits, timeouts, security, cors, logging.
const std::vector<OptionSpec> kOptions = {
    {"network.bind_address", "host", &ServerConfig::bind_address, R"("127.0.0.1")", "",
     "IP address to listen on: an address of this host, 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"},
    {"network.port", "port", &ServerConfig::port, "8080", "", "TCP port to listen on", &check_port},
    {"network.protocol", "", &ServerConfig::protocol, R"("http")", "",
     "Protocol served; only \"http\" (terminate TLS at a reverse proxy)", &check_protocol},

    {"model.path", "model", &ServerConfig::model_path, R"("")", "",
     "Absolute path of the GGUF model file, or of a directory holding exactly one .gguf file", nullptr, true},
    {"model.name", "model-name", &ServerConfig::model_name, R"("")", "",
     "Model id that clients send and /v1/models lists; \"\" = the file name without .gguf", &check_model_name},
    {"model.max_batch_size", "", &ServerConfig::max_batch_size, "1", "sequences",
     "Sequences decoded together; each needs context_size tokens of KV cache", &in_range<1, 1024>},
    {"model.gpu_id", "", &ServerConfig::gpu_id, "-1", "",
     "GPU to run on; -1 = CPU (this build runs on the CPU only)", &in_range<-1, 63>},
    {"model.context_size", "ctx-size", &ServerConfig::context_size, "4096", "tokens",
     "Context window per sequence (prompt + generated); capped at the model's training context",
     &in_range<16, 1048576>},
    {"model.prompt_batch_size", "", &ServerConfig::prompt_batch_size, "256", "tokens",
     "Prompt tokens fed to the model per forward step", &in_range<1, 65536>},

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

    {"timeouts.read_seconds", "", &ServerConfig::read_timeout, "30", "seconds",
     "Time a client has to send a whole request", &in_range<1, 3600>},
    {"timeouts.idle_seconds", "", &ServerConfig::idle_timeout, "60", "seconds",
     "Time an idle keep-alive connection stays open", &in_range<1, 3600>},
    {"timeouts.write_seconds", "", &ServerConfig::write_timeout, "60", "seconds",
     "Time a client may take to read a response before it is dropped", &in_range<1, 3600>},
    {"timeouts.generation_seconds", "", &ServerConfig::generation_timeout, "600", "seconds",
     "Longest a single generation may run, then it ends with finish_reason \"length\"; 0 = no limit",
     &in_range<0, 86400>},
    {"timeouts.shutdown_grace_seconds", "", &ServerConfig::shutdown_grace, "30", "seconds",
     "On SIGTERM, time in-flight requests get to finish before they are cancelled", &in_range<0, 3600>},

    {"security.api_keys", "api-key", &ServerConfig::api_keys, "[]", "",
     "Keys clients send as \"Authorization: Bearer KEY\"; every route but /health needs one; [] = open",
     &check_api_keys},
    {"cors.allowed_origins", "cors-origin", &ServerConfig::cors_allowed_origins, "[]", "",
     "Browser origins allowed to call the API (\"*\" = any); [] = no CORS headers", &check_origins},
    {"logging.level", "log-level", &ServerConfig::log_level, R"("info")", "", "error, warn, info or debug",
     &check_log_level},
};

std::string json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number with a fraction";
    case json::value_t::array: return "a list";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

Error type_error(const OptionSpec& spec, const json& v, std::string_view example) {
  return make_error("expected " + std::string(type_name(spec.field)) + " (like " + std::string(example) + "), got " +
                    json_kind(v) + " " + shown(v));
}

}  // namespace

const std::vector<OptionSpec>& option_table() { return kOptions; }

const OptionSpec* find_option(std::string_view name) {
  for (const auto& spec : kOptions) {
    if (spec.path == name || (!spec.flag.empty() && spec.flag == name)) return &spec;
  }
  return nullptr;
}

std::string_view type_name(const FieldRef& field) {
  switch (field.index()) {
    case 0: return "a string";
    case 1: return "an integer";
    case 2: return "a number";
    case 3: return "a size";
    default: return "a list of strings";
  }
}

Result<OptionValue> read_value(const OptionSpec& spec, const json& v) {
  switch (spec.field.index()) {
    case 0:
      if (!v.is_string()) return type_error(spec, v, "\"text\"");
      return OptionValue{v.get<std::string>()};
    case 1:
      if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15) return OptionValue{static_cast<int64_t>(d)};
      }
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return make_error(shown(v) + " is too large");
      }
      if (!v.is_number_integer()) return type_error(spec, v, "8");
      return OptionValue{v.get<int64_t>()};
    case 2:
      if (!v.is_number()) return type_error(spec, v, "30");
      return OptionValue{v.get<double>()};
    case 3: {
      if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
        return OptionValue{ByteSize{v.get<uint64_t>()}};
      }
      if (!v.is_string()) return type_error(spec, v, "\"4GB\" or \"512MiB\"");
      auto bytes = parse_byte_size(v.get<std::string>());
      if (!bytes) return Error{bytes.error()};
      return OptionValue{ByteSize{*bytes}};
    }
    default: {
      if (!v.is_array()) return type_error(spec, v, "[\"a\", \"b\"]");
      std::vector<std::string> items;
      for (const auto& item : v) {
        if (!item.is_string()) {
          return make_error("expected a list of strings, but one item is " + json_kind(item) + " " + shown(item));
        }
        items.push_back(item.get<std::string>());
      }
      return OptionValue{std::move(items)};
    }
  }
}

Result<OptionValue> read_text(const OptionSpec& spec, std::string_view text) {
  switch (spec.field.index()) {
    case 0: return OptionValue{std::string(text)};
    case 1: {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return make_error("expected an integer, got \"" + std::string(text) + "\"");
      }
      return OptionValue{n};
    }
    case 2: {
      double d = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(d)) {
        return make_error("expected a number, got \"" + std::string(text) + "\"");
      }
      return OptionValue{d};
    }
    case 3: {
      auto bytes = parse_byte_size(text);
      if (!bytes) return Error{bytes.error()};
      return OptionValue{ByteSize{*bytes}};
    }
    default: {
      std::vector<std::string> items;
      size_t start = 0;
      while (start <= text.size() && !text.empty()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        items.emplace_back(text.substr(start, comma - start));
        start = comma + 1;
      }
      return OptionValue{std::move(items)};
    }
  }
}

void assign(const OptionSpec& spec, const OptionValue& value, ServerConfig& config) {
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(config.*member)>;
        config.*member = std::get<T>(value);
      },
      spec.field);
}

std::string default_text(const OptionSpec& spec) { return std::string(spec.default_json); }

std::string options_reference() {
  std::ostringstream out;
  out << "Options (JSON path in the config file = --path on the command line; the command line wins):\n";
  for (const auto& spec : kOptions) {
    out << "  --" << spec.path;
    if (!spec.flag.empty()) out << ", --" << spec.flag;
    out << "  (" << type_name(spec.field);
    if (!spec.unit.empty()) out << ", " << spec.unit;
    if (spec.required) {
      out << ", required";
    } else {
      out << ", default " << spec.default_json;
    }
    out << ")\n      " << spec.help << "\n";
  }
  return out.str();
}

}  // namespace tandem::config
