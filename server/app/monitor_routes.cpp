#include "app/monitor_routes.h"

#include <nlohmann/json.hpp>

#include "http/api_error.h"
#include "openai/response_builder.h"

namespace tandem::server {
namespace {

using http::HttpResponse;
using http::Responder;

void answer(const monitor::Monitor* monitor, const std::shared_ptr<Responder>& responder,
            nlohmann::json (monitor::Monitor::*what)() const) {
  if (!monitor) {
    return responder->send(http::error_response(http::ApiError{
        404, "monitoring is off; set monitoring.enabled to true to sample the host and evaluate alert rules",
        "invalid_request_error", "", "monitoring_disabled"}));
  }
  HttpResponse r;
  r.body = openai::dump((monitor->*what)());
  responder->send(std::move(r));
}

}  // namespace

void add_monitor_routes(http::Router& router, const monitor::Monitor* monitor) {
  router.add("GET", "/api/stats", [monitor](const http::HttpRequest&, std::shared_ptr<Responder> res) {
    answer(monitor, res, &monitor::Monitor::stats_json);
  });
  router.add("GET", "/api/alerts", [monitor](const http::HttpRequest&, std::shared_ptr<Responder> res) {
    answer(monitor, res, &monitor::Monitor::alerts_json);
  });
}

}  // namespace tandem::server
