#include "gateway/links/prober.h"

#include <nlohmann/json.hpp>

#include "gateway/links/grpc_link.h"
#include "gateway/links/upstream_fetch.h"

namespace tandem::gateway {

Prober::Prober(boost::asio::io_context& ioc, LinkSet& links, std::vector<std::unique_ptr<UpstreamPool>>& pools,
               std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
    : ioc_(ioc), links_(links), pools_(pools), interval_(interval), timeout_(timeout) {
  for (size_t i = 0; i < links.size(); ++i) timers_.push_back(std::make_unique<boost::asio::steady_timer>(ioc));
  until_models_.assign(links.size(), 0);
}

void Prober::start() {
  for (size_t i = 0; i < timers_.size(); ++i) {
    boost::asio::post(ioc_, [this, i, stopped = stopped_] {
      if (!*stopped) probe(i);
    });
  }
}

void Prober::stop() {
  *stopped_ = true;
  for (auto& t : timers_) t->cancel();
}

void Prober::probe(size_t link) {
  const auto started = std::chrono::steady_clock::now();
  // /health needs no key; the link's own base path applies.
  // A gRPC link answers the standard health check instead (grpc_link.h).
  fetch_link(ioc_, links_.config(link), *pools_[link], links_.config(link).base_path + "/health", "", timeout_,
        [this, link, started, stopped = stopped_](FetchResult r) {
          if (*stopped) return;
          ProbeOutcome outcome;
          outcome.answered = r.answered && r.status == 200;
          outcome.rtt_ms = r.rtt_ms;
          if (!r.answered) {
            outcome.failure = r.error;
          } else if (r.status != 200) {
            outcome.failure = links_.config(link).protocol == "grpc"
                                  ? (r.status == 503 ? std::string("the health check answered NOT_SERVING")
                                                     : "the health check failed: " + r.body)
                                  : "GET /health answered HTTP " + std::to_string(r.status);
          }
          if (r.connection_failed) pools_[link]->clear();
          links_.record_probe(link, outcome);
          if (!outcome.answered) {
            until_models_[link] = 0;
          } else if (until_models_[link]-- <= 0) {
            until_models_[link] = kModelsEvery;
            refresh_models(link);
          }
          schedule(link, started);
        });
}

void Prober::refresh_models(size_t link) {
  const LinkConfig& config = links_.config(link);
  fetch_link(ioc_, config, *pools_[link], config.base_path + "/v1/models", config.api_key, timeout_,
        [this, link, stopped = stopped_](FetchResult r) {
          if (*stopped || !r.answered || r.status != 200) return;
          const nlohmann::json list = nlohmann::json::parse(r.body, nullptr, false);
          if (!list.is_object() || !list.contains("data") || !list["data"].is_array()) return;
          std::vector<std::string> ids;
          for (const auto& model : list["data"]) {
            if (model.is_object() && model.contains("id") && model["id"].is_string()) {
              ids.push_back(model["id"].get<std::string>());
            }
          }
          links_.set_models(link, std::move(ids));
        });
}

void Prober::schedule(size_t link, std::chrono::steady_clock::time_point started) {
  auto& timer = *timers_[link];
  timer.expires_at(std::max(started + interval_, std::chrono::steady_clock::now()));
  timer.async_wait([this, link, stopped = stopped_](boost::system::error_code ec) {
    if (ec || *stopped) return;
    probe(link);
  });
}

}  // namespace tandem::gateway
