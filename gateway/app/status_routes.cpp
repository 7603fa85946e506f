#include "gateway/app/status_routes.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "http/http_server.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;

json optional_ms(const std::optional<double>& v) {
  if (!v) return nullptr;
  return std::round(*v * 1000.0) / 1000.0;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// Link names are checked when the config loads (no quotes, no control characters).
std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + std::string(value) + "\"";
}

void histogram(std::ostringstream& out, const std::string& name, const std::string& labels,
               const metrics::Histogram::Snapshot& s) {
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    out << name << "_bucket{" << labels << sep << "le=\"" << number(s.bounds[i]) << "\"} " << s.cumulative[i] << "\n";
  }
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << s.cumulative.back() << "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out << name << "_sum" << braces << " " << number(s.sum) << "\n" << name << "_count" << braces << " " << s.count << "\n";
}

void head(std::ostringstream& out, std::string_view name, std::string_view type, std::string_view help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

http::HttpResponse json_response(const std::string& body, int status = 200) {
  http::HttpResponse r;
  r.status = status;
  r.body = body;
  return r;
}

}  // namespace

GatewayMetrics::GatewayMetrics()
    : added_latency({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}) {}

std::string links_json(const LinksSnapshot& s) {
  json links = json::array();
  for (const auto& l : s.links) {
    json link = {{"name", l.name},
                 {"url", l.url},
                 {"protocol", l.protocol},
                 {"state", state_name(l.state)},
                 {"reason", l.reason},
                 {"rtt_ms", {{"last", optional_ms(l.rtt_last)},
                             {"p50", optional_ms(l.rtt_p50)},
                             {"p95", optional_ms(l.rtt_p95)},
                             {"ewma", optional_ms(l.rtt_ewma)}}},
                 {"in_flight", l.in_flight},
                 {"requests_total", l.requests_total},
                 {"errors_total", l.errors_total}};
    if (!l.group.empty()) link["group"] = l.group;
    links.push_back(std::move(link));
  }
  json events = json::array();
  for (const auto& e : s.events) {
    events.push_back({{"time", e.time},
                      {"from", e.from.empty() ? json(nullptr) : json(e.from)},
                      {"to", e.to.empty() ? json(nullptr) : json(e.to)},
                      {"reason", e.reason}});
  }
  json body = {{"active", s.active >= 0 ? json(s.links[static_cast<size_t>(s.active)].name) : json(nullptr)},
               {"mode", mode_name(s.mode)},
               {"links", std::move(links)},
               {"events", std::move(events)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string render_metrics(const LinksSnapshot& s, const GatewayMetrics& m) {
  std::ostringstream out;
  head(out, "tandem_gateway_link_state", "gauge", "1 for the state each link is in (healthy, slow, down)");
  for (const auto& l : s.links) {
    for (LinkState st : {LinkState::kHealthy, LinkState::kSlow, LinkState::kDown}) {
      out << "tandem_gateway_link_state{" << label("link", l.name) << "," << label("state", state_name(st)) << "} "
          << (l.state == st ? 1 : 0) << "\n";
    }
  }
  head(out, "tandem_gateway_link_active", "gauge", "1 for the link that takes new requests");
  for (size_t i = 0; i < s.links.size(); ++i) {
    out << "tandem_gateway_link_active{" << label("link", s.links[i].name) << "} "
        << (static_cast<int>(i) == s.active ? 1 : 0) << "\n";
  }
  head(out, "tandem_gateway_mode", "gauge", "1 for the gateway's mode (normal, failover, degraded)");
  for (GatewayMode mode : {GatewayMode::kNormal, GatewayMode::kFailover, GatewayMode::kDegraded}) {
    out << "tandem_gateway_mode{" << label("mode", mode_name(mode)) << "} " << (s.mode == mode ? 1 : 0) << "\n";
  }
  head(out, "tandem_gateway_link_switches_total", "counter", "Times the active link changed");
  out << "tandem_gateway_link_switches_total " << s.switches_total << "\n";
  head(out, "tandem_gateway_probe_rtt_seconds", "histogram", "Round-trip time of answered health probes");
  for (const auto& l : s.links) histogram(out, "tandem_gateway_probe_rtt_seconds", label("link", l.name), l.probe_rtt);
  head(out, "tandem_gateway_probes_total", "counter", "Health probes sent");
  for (const auto& l : s.links) out << "tandem_gateway_probes_total{" << label("link", l.name) << "} " << l.probes_total << "\n";
  head(out, "tandem_gateway_probe_failures_total", "counter", "Health probes that failed or timed out");
  for (const auto& l : s.links) {
    out << "tandem_gateway_probe_failures_total{" << label("link", l.name) << "} " << l.probe_failures_total << "\n";
  }
  head(out, "tandem_gateway_proxied_requests_total", "counter",
       "Requests forwarded, by link and status (0 = no HTTP answer, 499 = the client left)");
  for (const auto& l : s.links) {
    for (const auto& [status, n] : l.responses) {
      out << "tandem_gateway_proxied_requests_total{" << label("link", l.name) << ","
          << label("status", std::to_string(status)) << "} " << n << "\n";
    }
  }
  head(out, "tandem_gateway_link_in_flight", "gauge", "Requests in progress on each link");
  for (const auto& l : s.links) out << "tandem_gateway_link_in_flight{" << label("link", l.name) << "} " << l.in_flight << "\n";
  head(out, "tandem_gateway_link_errors_total", "counter", "Requests a link failed");
  for (const auto& l : s.links) {
    out << "tandem_gateway_link_errors_total{" << label("link", l.name) << "} " << l.errors_total << "\n";
  }
  head(out, "tandem_gateway_added_latency_seconds", "histogram",
       "Time from a request's arrival to its forwarding to a link");
  histogram(out, "tandem_gateway_added_latency_seconds", "", m.added_latency.snapshot());
  head(out, "tandem_gateway_rate_limited_total", "counter", "Requests refused with 429 by the per-key rate limit");
  out << "tandem_gateway_rate_limited_total " << m.rate_limited.value() << "\n";
  head(out, "tandem_gateway_stream_buffered_bytes", "gauge",
       "Bytes of streamed responses waiting to be written to clients that read slowly");
  out << "tandem_gateway_stream_buffered_bytes " << http::queued_stream_bytes() << "\n";
  head(out, "process_resident_memory_bytes", "gauge", "Resident set size of the gateway");
  out << "process_resident_memory_bytes " << metrics::process_resident_bytes() << "\n";
  if (m.extra) out << m.extra();
  return out.str();
}

void add_status_routes(http::Router& router, LinkSet& links, GatewayMetrics& metrics) {
  router.add("GET", "/health", [&links](const http::HttpRequest&, std::shared_ptr<http::Responder> responder) {
    const LinksSnapshot s = links.snapshot();
    if (s.active >= 0) {
      json body = {{"status", "ok"}, {"mode", mode_name(s.mode)}, {"active", s.links[static_cast<size_t>(s.active)].name}};
      return responder->send(json_response(body.dump()));
    }
    json body = {{"status", "unavailable"}, {"mode", mode_name(s.mode)},
                 {"reason", "no link can serve: " + links.failure_summary()}};
    http::HttpResponse r = json_response(body.dump(-1, ' ', false, json::error_handler_t::replace), 503);
    r.headers.emplace_back("Retry-After", "1");
    responder->send(std::move(r));
  });
  router.add("GET", "/api/links", [&links](const http::HttpRequest&, std::shared_ptr<http::Responder> responder) {
    responder->send(json_response(links_json(links.snapshot())));
  });
  router.add("GET", "/metrics", [&links, &metrics](const http::HttpRequest&, std::shared_ptr<http::Responder> responder) {
    http::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = render_metrics(links.snapshot(), metrics);
    responder->send(std::move(r));
  });
}

}  // namespace tandem::gateway
