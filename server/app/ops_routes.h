#pragma once
// The operator's routes: GET /health (200 ready, 503 with the reason otherwise), GET /metrics
// (Prometheus text), POST /admin/model/unload and POST /admin/model/load.

#include <string>

#include "http/router.h"
#include "metrics/metrics.h"
#include "scheduler/scheduler.h"

namespace tandem::server {

struct OpsContext {
  Scheduler& scheduler;
  metrics::ServerMetrics& metrics;
  std::string default_model_path;  // what /admin/model/load loads when the body names no path
  std::string default_model_id;    // model.name, or "" for the file name
};

// The id clients use for a model file: `name` when set, else the file name without .gguf.
std::string model_id_for(const std::string& path, const std::string& name);

void add_ops_routes(http::Router& router, const OpsContext& context);

}  // namespace tandem::server
