// GET /v1/models through the gateway: the lists of every live link, merged by model id in link
// order, so that a client sees every model some link serves.

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "gateway/links/upstream_fetch.h"
#include "gateway/links/grpc_link.h"
#include "gateway/proxy/proxy.h"
#include "http/api_error.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;

struct Gather {
  std::shared_ptr<http::Responder> responder;
  std::vector<std::optional<FetchResult>> results;
  std::vector<std::string> names;
  size_t pending = 0;
  std::string summary;  // the links' states, for a 503
};

void answer(Gather& g) {
  json data = json::array();
  std::set<std::string> seen;
  std::string served_by;
  const FetchResult* refusal = nullptr;
  for (size_t i = 0; i < g.results.size(); ++i) {
    const auto& r = g.results[i];
    if (!r || !r->answered) continue;
    if (r->status != 200) {
      if (!refusal) refusal = &*r;
      continue;
    }
    const json list = json::parse(r->body, nullptr, false);
    if (!list.is_object() || !list.contains("data") || !list["data"].is_array()) continue;
    served_by += (served_by.empty() ? "" : ", ") + g.names[i];
    for (const auto& model : list["data"]) {
      if (!model.is_object() || !model.contains("id") || !model["id"].is_string()) continue;
      if (seen.insert(model["id"].get<std::string>()).second) data.push_back(model);
    }
  }
  if (served_by.empty()) {
    if (refusal) {
      http::HttpResponse r{refusal->status, "application/json", refusal->body, {}};
      return g.responder->send(std::move(r));
    }
    return g.responder->send(http::error_response(
        http::unavailable("no link can list its models: " + g.summary, "no_link_available", 1)));
  }
  http::HttpResponse r;
  r.body = json{{"object", "list"}, {"data", data}}.dump(-1, ' ', false, json::error_handler_t::replace);
  r.headers.emplace_back("X-Tandem-Link", served_by);
  g.responder->send(std::move(r));
}

}  // namespace

void merged_models(ProxyContext& ctx, const http::HttpRequest&, std::shared_ptr<http::Responder> responder) {
  boost::asio::post(ctx.ioc, [&ctx, responder = std::move(responder)] {
    auto g = std::make_shared<Gather>();
    g->responder = responder;
    const LinksSnapshot snapshot = ctx.links.snapshot();
    g->summary = ctx.links.failure_summary();
    g->results.resize(ctx.links.size());
    for (size_t i = 0; i < ctx.links.size(); ++i) g->names.push_back(ctx.links.config(i).name);
    std::vector<size_t> live;
    for (size_t i = 0; i < snapshot.links.size(); ++i) {
      if (snapshot.links[i].state != LinkState::kDown) live.push_back(i);
    }
    if (live.empty()) return answer(*g);
    g->pending = live.size();
    for (size_t i : live) {
      const LinkConfig& link = ctx.links.config(i);
      fetch_link(ctx.ioc, link, *ctx.pools[i], link.base_path + "/v1/models", link.api_key, ctx.models_timeout,
                 [g, i](FetchResult r) {
        g->results[i] = std::move(r);
        if (--g->pending == 0) answer(*g);
      });
    }
  });
}

}  // namespace tandem::gateway
