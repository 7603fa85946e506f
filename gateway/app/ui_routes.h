#pragma once
// The web UI's side of the gateway: the page and its files (gateway/ui), the conversation history
// API (gateway/history) and the dashboard's time series (gateway/timeseries, sampled here once a
// second from the links' /metrics and the gateway's own state). Routes, all JSON unless noted:
//   GET  /, /dashboard, /ui/<file>, /lib/<file>   the page (HTML/JS/CSS, with a strict CSP)
//   GET  /api/ui/config                         {"keys_required", "latency_threshold_ms", "links"}
//   GET  /api/conversations[?q=text]            [{"id", "title", "created", "updated", "messages"}]
//   POST /api/conversations                     body: a conversation (history/conversation.h) -> it, 201
//   GET|PUT|DELETE /api/conversations/{id}      the whole conversation / replace it / delete it
//   GET  /api/conversations/export              {"conversations": [whole ones]}
//   POST /api/conversations/import              the same shape -> {"imported": N, "ids": [...]}
//   GET  /api/timeseries[?range=24h][&since=T]  SeriesStore::to_json plus "events" (link switches);
//                                               since=T (an earlier answer's "end"): points after T only
// The page and its files need no key (the page asks for it); the APIs do when keys are configured.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/file_worker.h"
#include "core/result.h"
#include "gateway/config/gateway_config.h"
#include "gateway/history/conversation_store.h"
#include "gateway/links/link_set.h"
#include "gateway/links/upstream_pool.h"
#include "gateway/timeseries/dashboard_sampler.h"
#include "gateway/timeseries/series_store.h"
#include "gateway/ui/assets.h"
#include "http/api_error.h"
#include "http/cors.h"
#include "http/router.h"

namespace tandem::gateway {

// The gateway's front-door screen: a state-changing request (not GET, HEAD or OPTIONS) that carries
// an Origin must come from the gateway's own page (Origin's host:port is the request's Host) or from
// an origin in cors.allowed_origins; others get 403. The proxy drops Origin before a link sees it.
std::optional<http::ApiError> screen_origin(const http::HttpRequest& request, const http::CorsPolicy& cors);

class UiServices {
 public:
  // Opens the history file (history.path); the error names the option and the fix.
  static Result<std::unique_ptr<UiServices>> create(const GatewayConfig& config, LinkSet& links,
                                                    boost::asio::io_context& upstream_ioc,
                                                    std::vector<std::unique_ptr<UpstreamPool>>& pools);
  ~UiServices();

  void add_routes(http::Router& router);
  // Paths that need no API key: the page and its files, and /api/ui/config.
  std::vector<std::string> public_paths() const;
  // The once-a-second sampler thread. stop() also finishes the history calls already posted (their
  // answers go to the HTTP server's I/O context, which must still exist: call it after the
  // server's stop(), before the server is destroyed); no route may run after it.
  void start();
  void stop();

 private:
  UiServices(const GatewayConfig& config, LinkSet& links, boost::asio::io_context& ioc,
             std::vector<std::unique_ptr<UpstreamPool>>& pools, std::unique_ptr<ConversationStore> store);
  void sample_loop();
  void fetch_metrics();
  // Runs `work` (history calls that make the answer) on history_worker_ and sends what it gives.
  void on_history_thread(std::shared_ptr<http::Responder> responder, std::function<http::HttpResponse()> work);

  const GatewayConfig& config_;
  LinkSet& links_;
  boost::asio::io_context& upstream_ioc_;
  std::vector<std::unique_ptr<UpstreamPool>>& pools_;
  std::unique_ptr<ConversationStore> store_;
  // The history's one thread: every store_ call runs there, in order, never on an HTTP I/O thread,
  // where a locked or slow database file (SQLite waits out its busy timeout) would stall every
  // connection that thread serves. Declared after store_, so that it finishes its tasks before the
  // store closes; stop() ends it earlier (null after).
  std::unique_ptr<server::FileWorker> history_worker_ = std::make_unique<server::FileWorker>();
  UiAssets assets_;
  SeriesStore series_;
  DashboardSampler sampler_;

  struct LatestMetrics {
    std::string text;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex metrics_mutex_;
  std::vector<std::optional<LatestMetrics>> latest_;  // per link, written on the upstream thread

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tandem::gateway
