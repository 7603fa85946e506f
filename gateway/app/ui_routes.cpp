#include "gateway/app/ui_routes.h"

#include <boost/asio/post.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "gateway/history/conversation.h"
#include "gateway/links/upstream_fetch.h"
#include "http/api_error.h"
#include "http/request_screen.h"
#include "log/log.h"

namespace tandem::gateway {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

http::HttpResponse json_response(const json& body, int status = 200) {
  http::HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

void send_error(const std::shared_ptr<http::Responder>& responder, const http::ApiError& error) {
  responder->send(http::error_response(error));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The decoded value of `name` in the request's query string ("" when absent).
std::string query_param(const std::string& target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out += ' ';
      } else if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0) {
        out += static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
        i += 2;
      } else {
        out += raw[i];
      }
    }
    return out;
  }
  return "";
}

std::optional<json> parse_body(const http::HttpRequest& request, const std::shared_ptr<http::Responder>& responder) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    send_error(responder, http::invalid_request("the body is not valid JSON; send a conversation object"));
    return std::nullopt;
  }
  return body;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::optional<http::ApiError> screen_origin(const http::HttpRequest& request, const http::CorsPolicy& cors) {
  const std::string_view origin = request.header("origin");
  if (origin.empty() || http::is_safe_method(request.method)) return std::nullopt;
  const std::string_view host = request.header("host");
  if (!host.empty() && (origin == "http://" + std::string(host) || origin == "https://" + std::string(host))) {
    return std::nullopt;
  }
  if (cors.allows(origin)) return std::nullopt;
  return http::origin_not_allowed(origin);
}

Result<std::unique_ptr<UiServices>> UiServices::create(const GatewayConfig& config, LinkSet& links,
                                                       boost::asio::io_context& upstream_ioc,
                                                       std::vector<std::unique_ptr<UpstreamPool>>& pools) {
  auto store = ConversationStore::open(config.history_path);
  if (!store) return make_error(store.error());
  if (config.history_path.empty()) {
    log::warn("history.path is not set: conversations are kept in memory and lost when the gateway stops");
  }
  return std::unique_ptr<UiServices>(new UiServices(config, links, upstream_ioc, pools, std::move(*store)));
}

UiServices::UiServices(const GatewayConfig& config, LinkSet& links, boost::asio::io_context& ioc,
                       std::vector<std::unique_ptr<UpstreamPool>>& pools, std::unique_ptr<ConversationStore> store)
    : config_(config),
      links_(links),
      upstream_ioc_(ioc),
      pools_(pools),
      store_(std::move(store)),
      assets_(config.ui_root),
      latest_(pools.size()) {}

UiServices::~UiServices() { stop(); }

std::vector<std::string> UiServices::public_paths() const {
  std::vector<std::string> paths = assets_.urls();
  paths.emplace_back("/api/ui/config");
  return paths;
}

void UiServices::add_routes(http::Router& router) {
  auto serve_asset = [this](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    if (auto r = assets_.get(request.path)) return responder->send(std::move(*r));
    send_error(responder, http::not_found("the web UI has no file " + request.path +
                                          (request.path.starts_with("/lib/")
                                               ? "; the gateway was built without its Debian package (see "
                                                 "gateway/ui/embed_assets.cmake)"
                                               : "")));
  };
  router.add("GET", "/", serve_asset);
  router.add("GET", "/dashboard", serve_asset);
  router.add_prefix("GET", "/ui/", serve_asset);
  router.add_prefix("GET", "/lib/", serve_asset);

  router.add("GET", "/api/ui/config", [this](const http::HttpRequest&, std::shared_ptr<http::Responder> responder) {
    json links = json::array();
    for (size_t i = 0; i < links_.size(); ++i) links.push_back(links_.config(i).name);
    responder->send(json_response({{"keys_required", !config_.api_keys.empty()},
                                   {"latency_threshold_ms", config_.latency_threshold_ms},
                                   {"links", links}}));
  });

  // Each history route checks the request here, on the I/O thread, and runs its database calls on
  // the history thread (history_worker_), which sends the answer.
  router.add("GET", "/api/conversations", [this](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    std::string q = query_param(request.target, "q");
    if (q.size() > 1000) return send_error(responder, http::invalid_request("q: longer than 1000 bytes", "q"));
    on_history_thread(std::move(responder), [this, q = std::move(q)] {
      auto list = store_->list(q);
      if (!list) return http::error_response(http::internal_error(list.error()));
      return json_response(*list);
    });
  });
  router.add("POST", "/api/conversations", [this](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    auto body = parse_body(request, responder);
    if (!body) return;
    auto valid = validated_conversation(*body);
    if (!valid) return send_error(responder, http::invalid_request(valid.error()));
    on_history_thread(std::move(responder), [this, c = std::move(*valid)] {
      auto created = store_->create(c);
      if (!created) return http::error_response(http::internal_error(created.error()));
      return json_response(*created, 201);
    });
  });
  router.add("GET", "/api/conversations/export", [this](const http::HttpRequest&, std::shared_ptr<http::Responder> responder) {
    on_history_thread(std::move(responder), [this] {
      auto all = store_->all();
      if (!all) return http::error_response(http::internal_error(all.error()));
      http::HttpResponse r = json_response({{"format", "tandem-conversations"}, {"version", 1}, {"conversations", *all}});
      r.headers.emplace_back("Content-Disposition", "attachment; filename=\"tandem-conversations.json\"");
      return r;
    });
  });
  router.add("POST", "/api/conversations/import", [this](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    auto body = parse_body(request, responder);
    if (!body) return;
    const json* list = body->is_array() ? &*body : nullptr;
    if (body->is_object() && body->contains("conversations")) list = &(*body)["conversations"];
    if (!list || !list->is_array()) {
      return send_error(responder, http::invalid_request(
                                       "conversations: expected {\"conversations\": [...]} as GET "
                                       "/api/conversations/export writes it", "conversations"));
    }
    // Everything is checked before anything is stored, so a bad file imports nothing.
    std::vector<json> valid;
    for (size_t i = 0; i < list->size(); ++i) {
      auto c = validated_conversation((*list)[i], "conversations[" + std::to_string(i) + "]");
      if (!c) return send_error(responder, http::invalid_request(c.error(), "conversations"));
      for (const char* t : {"created", "updated"}) {
        if ((*list)[i].contains(t)) (*c)[t] = (*list)[i][t];
      }
      valid.push_back(std::move(*c));
    }
    on_history_thread(std::move(responder), [this, valid = std::move(valid)] {
      json ids = json::array();
      for (const auto& c : valid) {
        auto created = store_->create(c, /*keep_times=*/true);
        if (!created) return http::error_response(http::internal_error(created.error()));
        ids.push_back((*created)["id"]);
      }
      return json_response({{"imported", ids.size()}, {"ids", ids}});
    });
  });
  auto with_id = [](const http::HttpRequest& request, const std::shared_ptr<http::Responder>& responder)
      -> std::optional<std::string> {
    const std::string id = request.path.substr(std::string_view("/api/conversations/").size());
    if (!valid_conversation_id(id)) {
      send_error(responder, http::not_found("no conversation " + id.substr(0, 80) +
                                            "; ids are letters, digits, _ and - (GET /api/conversations lists them)"));
      return std::nullopt;
    }
    return id;
  };
  router.add_prefix("GET", "/api/conversations/", [this, with_id](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    auto id = with_id(request, responder);
    if (!id) return;
    on_history_thread(std::move(responder), [this, id = std::move(*id)] {
      auto c = store_->get(id);
      if (!c) return http::error_response(http::internal_error(c.error()));
      if (!*c) return http::error_response(http::not_found("no conversation " + id + "; it may have been deleted"));
      return json_response(**c);
    });
  });
  router.add_prefix("PUT", "/api/conversations/", [this, with_id](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    auto id = with_id(request, responder);
    if (!id) return;
    auto body = parse_body(request, responder);
    if (!body) return;
    auto valid = validated_conversation(*body);
    if (!valid) return send_error(responder, http::invalid_request(valid.error()));
    on_history_thread(std::move(responder), [this, id = std::move(*id), c = std::move(*valid)] {
      auto replaced = store_->replace(id, c);
      if (!replaced) return http::error_response(http::internal_error(replaced.error()));
      if (!*replaced) {
        return http::error_response(http::not_found("no conversation " + id + "; create it with POST /api/conversations"));
      }
      auto stored = store_->get(id);
      if (!stored || !*stored) return http::error_response(http::not_found("no conversation " + id));
      return json_response(**stored);
    });
  });
  router.add_prefix("DELETE", "/api/conversations/", [this, with_id](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    auto id = with_id(request, responder);
    if (!id) return;
    on_history_thread(std::move(responder), [this, id = std::move(*id)] {
      auto removed = store_->remove(id);
      if (!removed) return http::error_response(http::internal_error(removed.error()));
      if (!*removed) return http::error_response(http::not_found("no conversation " + id));
      return json_response({{"deleted", id}});
    });
  });

  router.add("GET", "/api/timeseries", [this](const http::HttpRequest& request, std::shared_ptr<http::Responder> responder) {
    const std::string range = query_param(request.target, "range");
    if (!range.empty() && range != "15m" && range != "24h") {
      return send_error(responder, http::invalid_request("range: use 15m (1 s points) or 24h (1 min points)", "range"));
    }
    // since: the "end" of an earlier answer (unix seconds), for only the points after it.
    const std::string since_text = query_param(request.target, "since");
    std::optional<int64_t> since;
    if (!since_text.empty()) {
      int64_t value = 0;
      const auto [end, ec] = std::from_chars(since_text.data(), since_text.data() + since_text.size(), value);
      if (ec != std::errc() || end != since_text.data() + since_text.size() || value < 0) {
        return send_error(responder, http::invalid_request(
            "since: use the \"end\" of an earlier answer (unix seconds, a whole number >= 0), or leave it out "
            "for the whole range", "since"));
      }
      since = value;
    }
    json body = series_.to_json(range == "24h", since);
    const LinksSnapshot s = links_.snapshot();
    json events = json::array();
    for (const auto& e : s.events) {
      events.push_back({{"time", e.time}, {"from", e.from}, {"to", e.to}, {"reason", e.reason}});
    }
    json links = json::array();
    for (const auto& l : s.links) links.push_back({{"name", l.name}, {"state", state_name(l.state)}, {"reason", l.reason}});
    body["events"] = std::move(events);
    body["links"] = std::move(links);
    body["active"] = s.active >= 0 ? json(s.links[static_cast<size_t>(s.active)].name) : json(nullptr);
    body["mode"] = mode_name(s.mode);
    body["latency_threshold_ms"] = config_.latency_threshold_ms;
    responder->send(json_response(body));
  });
}

void UiServices::on_history_thread(std::shared_ptr<http::Responder> responder, std::function<http::HttpResponse()> work) {
  history_worker_->post([responder = std::move(responder), work = std::move(work)] {
    try {
      responder->send(work());
    } catch (const std::exception& e) {  // a handler never throws: the client gets a 500, not silence
      responder->send(http::error_response(http::internal_error(std::string("conversation history: ") + e.what())));
    }
  });
}

void UiServices::start() {
  thread_ = std::thread([this] { sample_loop(); });
}

void UiServices::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  history_worker_.reset();  // runs what was posted, then joins
}

// Asks every link for its /metrics on the upstream thread; answers land in latest_.
void UiServices::fetch_metrics() {
  boost::asio::post(upstream_ioc_, [this] {
    for (size_t i = 0; i < pools_.size(); ++i) {
      fetch(*pools_[i], "/metrics", links_.config(i).api_key, std::chrono::milliseconds(900), [this, i](FetchResult r) {
        if (!r.answered || r.status != 200) return;
        std::lock_guard lock(metrics_mutex_);
        latest_[i] = LatestMetrics{std::move(r.body), Clock::now()};
      });
    }
  });
}

void UiServices::sample_loop() {
  auto next = Clock::now();
  for (;;) {
    fetch_metrics();
    next += std::chrono::seconds(1);
    {
      std::unique_lock lock(stop_mutex_);
      if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    if (Clock::now() > next + std::chrono::seconds(5)) next = Clock::now();  // fell far behind: skip, not rush
    DashboardInputs in;
    in.links = links_.snapshot();
    {
      std::lock_guard lock(metrics_mutex_);
      for (const auto& m : latest_) {
        // A reading older than two ticks is stale: that link is not answering.
        if (m && Clock::now() - m->at < std::chrono::milliseconds(2500)) in.link_metrics.emplace_back(m->text);
        else in.link_metrics.emplace_back(std::nullopt);
      }
    }
    if (auto dev = read_file("/proc/net/dev")) in.host_net_bytes = parse_net_dev(*dev, /*include_loopback=*/true);
    const auto values = sampler_.sample(in);
    const int64_t unix_now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    series_.add(unix_now, values);
  }
}

}  // namespace tandem::gateway
