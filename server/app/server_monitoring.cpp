#include "app/server_monitoring.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "app/ops_routes.h"
#include "log/log.h"

namespace tandem::server {
namespace {

std::string fixed(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// The engine as the monitor sees it; sampled on the monitor's thread. The KV cache readings keep
// their /metrics names (without tandem_), so a rule or the dashboard finds them by one name.
struct EngineCollector final : monitor::Collector {
  EngineCollector(Scheduler& scheduler, metrics::ServerMetrics& metrics, const std::atomic<int32_t>& batch_limit)
      : scheduler(scheduler), metrics(metrics), batch_limit(batch_limit) {}
  const char* name() const override { return "engine"; }
  std::optional<monitor::Readings> sample(double now) override {
    const SchedulerStatus s = scheduler.status();
    monitor::Readings out = {{"engine_running_sequences", {}, static_cast<double>(s.running)},
                             {"engine_queued_requests", {}, static_cast<double>(s.queued)},
                             {"engine_model_loaded", {}, s.state == ModelState::kReady ? 1.0 : 0.0},
                             {"batch_limit", {}, static_cast<double>(batch_limit.load())}};
    if (s.kv_cells_total > 0) {  // absent without a model
      out.push_back({"kv_cache_used_cells", {}, static_cast<double>(s.kv_cells_used)});
      out.push_back({"kv_cache_capacity_cells", {}, static_cast<double>(s.kv_cells_total)});
      out.push_back({"kv_cache_usage_ratio", {}, static_cast<double>(s.kv_cells_used) / static_cast<double>(s.kv_cells_total)});
    }
    const double tokens = static_cast<double>(metrics.generated_tokens.value());
    if (last_at && now > *last_at) out.push_back({"engine_tokens_per_second", {}, (tokens - last_tokens) / (now - *last_at)});
    last_tokens = tokens;
    last_at = now;
    return out;
  }
  Scheduler& scheduler;
  metrics::ServerMetrics& metrics;
  const std::atomic<int32_t>& batch_limit;
  double last_tokens = 0;
  std::optional<double> last_at;
};

MemoryGuardOptions guard_options(const config::ServerConfig& c) {
  MemoryGuardOptions o;
  o.model_path = c.model_path;
  o.model_id = model_id_for(c.model_path, c.model_name);
  o.unload_grace = std::chrono::milliseconds(static_cast<int64_t>(c.monitoring_unload_grace * 1000));
  o.retry_after_seconds = static_cast<int>(c.monitoring_retry_after);
  return o;
}

std::string describe(const monitor::AlertEvent& e) {
  return e.rule.metric + " " + fixed(e.value.value) + (e.rule.comparison == monitor::Comparison::kAbove ? " above " : " below ") +
         fixed(e.rule.threshold) + " for " + fixed(e.rule.for_seconds, 0) + " s, rule " + e.rule.name;
}

}  // namespace

ServerMonitoring::ServerMonitoring(const config::ServerConfig& config, Scheduler& scheduler,
                                   metrics::ServerMetrics& metrics)
    : config_(config),
      inner_(scheduler),
      guarded_(scheduler, guard_options(config), [this](std::string& reason) { return reload_fits(reason); }),
      batch_limit_(static_cast<int32_t>(config.max_batch_size)) {
  if (!config.monitoring_enabled) return;
  for (const auto& rule : config.monitoring_rules) {
    if (rule.action == "unload_model" && rule.comparison == monitor::Comparison::kAbove) {
      unload_threshold_ = rule.threshold;
      break;
    }
  }
  monitor::MonitorOptions options;
  options.proc_root = config.monitoring_proc_root;
  options.sys_root = config.monitoring_sys_root;
  options.nvml_library = config.monitoring_nvml_library;
  options.rules = config.monitoring_rules;
  options.history_points = static_cast<size_t>(config.monitoring_history_seconds);
  options.gpu = static_cast<int>(config.gpu_id);
  options.source = "tandem serve";
  options.log = [](bool warning, const std::string& line) { warning ? log::warn(line) : log::info(line); };
  monitor_ = std::make_unique<monitor::Monitor>(std::move(options));
  monitor_->add_collector(std::make_unique<EngineCollector>(guarded_, metrics, batch_limit_));
  monitor_->set_action("unload_model",
                       monitor::Action{[this](const monitor::AlertEvent& e) { return guarded_.unload_for_memory(describe(e)); },
                                       nullptr});
  monitor_->set_action("reduce_batch", monitor::Action{[this](const monitor::AlertEvent&) { return reduce_batch(); },
                                                       [this](const monitor::AlertEvent&) { return restore_batch(); }});
  metrics.set_extra_renderer([this] { return monitor_->render_prometheus(); });
}

ServerMonitoring::~ServerMonitoring() { stop(); }

void ServerMonitoring::start() {
  if (monitor_) monitor_->start();
}

void ServerMonitoring::stop() {
  if (monitor_) monitor_->stop();
}

// Whether memory use, with the model's file loaded again, stays under the unload rule's threshold.
// The file size stands for the weights (they are mapped, and packed copies replace their pages).
bool ServerMonitoring::reload_fits(std::string& reason) const {
  if (!monitor_) return true;
  const bool gpu = config_.gpu_id >= 0 && monitor_->latest("gpu_memory_total_bytes");
  const auto used = monitor_->latest(gpu ? "gpu_memory_used_bytes" : "host_memory_used_bytes");
  const auto total = monitor_->latest(gpu ? "gpu_memory_total_bytes" : "host_memory_total_bytes");
  if (!used || !total || *total <= 0) return true;  // nothing to judge by: let the load decide
  struct stat st {};
  const double model_bytes = ::stat(config_.model_path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) : 0;
  const double projected = (*used + model_bytes) / *total;
  if (projected < unload_threshold_) return true;
  reason = "with the model (" + fixed(model_bytes / (1 << 20), 0) + " MiB) memory use would be " + fixed(projected) +
           " of total, not under the threshold " + fixed(unload_threshold_);
  return false;
}

std::string ServerMonitoring::reduce_batch() {
  const auto full = static_cast<int32_t>(config_.max_batch_size);
  if (full <= 1) return "none: model.max_batch_size is 1 already";
  const int32_t half = std::max(1, full / 2);
  if (!guarded_.set_batch_limit(half)) return "none: this scheduler cannot limit its batch";
  batch_limit_ = half;
  return "batch size " + std::to_string(full) + " -> " + std::to_string(half);
}

std::string ServerMonitoring::restore_batch() {
  if (batch_limit_.load() == static_cast<int32_t>(config_.max_batch_size)) return "";
  guarded_.set_batch_limit(0);
  batch_limit_ = static_cast<int32_t>(config_.max_batch_size);
  return "batch size back to " + std::to_string(config_.max_batch_size);
}

}  // namespace tandem::server
