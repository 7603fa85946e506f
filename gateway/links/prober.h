#pragma once
// Probes every link with GET /health every probe_interval_ms (a probe slower than the interval
// delays the next one rather than overlapping it), each within probe_timeout_ms, and reports the
// outcome to the LinkSet. It also reads each link's model list (GET /v1/models) when the link
// first answers, after it comes back, and every kModelsEvery probes, so that requests can be
// routed by model. Runs on the upstream I/O thread.

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "gateway/links/link_set.h"
#include "gateway/links/upstream_pool.h"

namespace tandem::gateway {

class Prober {
 public:
  Prober(boost::asio::io_context& ioc, LinkSet& links, std::vector<std::unique_ptr<UpstreamPool>>& pools,
         std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
  void start();  // the first probe of each link goes out at once
  void stop();

 private:
  void probe(size_t link);
  void schedule(size_t link, std::chrono::steady_clock::time_point started);
  void refresh_models(size_t link);

  static constexpr int kModelsEvery = 30;

  boost::asio::io_context& ioc_;
  LinkSet& links_;
  std::vector<std::unique_ptr<UpstreamPool>>& pools_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds timeout_;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers_;
  std::vector<int> until_models_;  // probes until the model list is read again
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
};

}  // namespace tandem::gateway
