#pragma once
// serve's monitoring (issue 13): the shared monitor (monitor/monitor.h) with the host collectors,
// an engine collector (running and queued requests, tokens/s, model loaded, batch limit), and
// serve's two actions: unload_model (through MonitoredScheduler) and reduce_batch (halves the
// batch while its rule fires, restores it when the rule resolves).

#include <atomic>
#include <memory>

#include "app/monitored_scheduler.h"
#include "config/server_config.h"
#include "metrics/metrics.h"
#include "monitor/monitor.h"

namespace tandem::server {

class ServerMonitoring {
 public:
  // `scheduler` is the real one; routes use scheduler() instead.
  ServerMonitoring(const config::ServerConfig& config, Scheduler& scheduler, metrics::ServerMetrics& metrics);
  ~ServerMonitoring();

  Scheduler& scheduler() { return guarded_; }
  monitor::Monitor* monitor() { return monitor_.get(); }  // null when monitoring.enabled is false
  int32_t batch_limit() const { return batch_limit_.load(); }

  void start();
  void stop();

 private:
  bool reload_fits(std::string& reason) const;
  std::string reduce_batch();
  std::string restore_batch();

  const config::ServerConfig& config_;
  Scheduler& inner_;
  MonitoredScheduler guarded_;
  std::unique_ptr<monitor::Monitor> monitor_;
  std::atomic<int32_t> batch_limit_;
  double unload_threshold_ = 1.0;  // the unload_model rule's threshold: a reload must stay under it
};

}  // namespace tandem::server
