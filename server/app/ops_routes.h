#pragma once
// The operator's routes: GET /health (200 ready, 503 with the reason otherwise), GET /metrics
// (Prometheus text), POST /admin/model/unload and POST /admin/model/load.
//
// The admin routes pass the server's key check like any route (admin keys are added to the user
// keys when there are any), then check their own access (admin_access.h): admin keys only.
// /admin/model/load {"path": "m.gguf", "name": "m"} loads a file from model.directory (relative to
// it, or absolute inside it); {} or {"name": ...} reloads model.path. Without model.directory no
// other path loads.

#include <string>

#include "app/admin_access.h"
#include "app/file_worker.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "scheduler/scheduler.h"

namespace tandem::server {

struct OpsContext {
  Scheduler& scheduler;
  metrics::ServerMetrics& metrics;
  FileWorker& files;               // where load resolves and vets files, off the I/O threads
  std::string default_model_path;  // what /admin/model/load loads when the body names no path
  std::string default_model_id;    // model.name, or "" for the file name
  std::string model_directory;     // model.directory; "" = load by path is off
  AdminAccess admin;
};

// What GET /health answers for a scheduler status: 200 when the model is ready and the scheduler
// makes progress; 503 with the reason while loading, unloaded, shutting down, or stalled (sequences
// running but no forward step has ended for kStalledStepSeconds: a wedged engine must not look
// healthy to a load balancer or the gateway's prober).
constexpr double kStalledStepSeconds = 60;
http::HttpResponse health_response(const SchedulerStatus& status);

// The id clients use for a model file: `name` when set, else the file name without .gguf.
std::string model_id_for(const std::string& path, const std::string& name);

void add_ops_routes(http::Router& router, const OpsContext& context);

}  // namespace tandem::server
