#include "app/ops_routes.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/host_checks.h"
#include "http/api_error.h"
#include "openai/completion_request.h"
#include "openai/response_builder.h"
#include "openai/utf8.h"

namespace tandem::server {
namespace {

using http::HttpResponse;
using http::Responder;
using nlohmann::json;

HttpResponse json_response(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = openai::dump(body);
  return r;
}

std::string_view state_name(ModelState s) {
  switch (s) {
    case ModelState::kReady: return "ok";
    case ModelState::kLoading: return "loading";
    case ModelState::kUnloaded: return "unloaded";
  }
  return "unknown";
}

json model_json(const ModelInfo& m) {
  return {{"id", m.id}, {"path", m.path}, {"context_length", m.n_ctx}, {"n_vocab", m.n_vocab}, {"created", m.created}};
}

void handle_health(Scheduler& scheduler, const std::shared_ptr<Responder>& responder) {
  const SchedulerStatus s = scheduler.status();
  json body = {{"status", s.accepting ? state_name(s.state) : "shutting_down"},
               {"queued", s.queued},
               {"running", s.running}};
  if (s.state == ModelState::kReady && s.accepting) {
    body["model"] = s.model ? s.model->id : "";
    return responder->send(json_response(body));
  }
  body["reason"] = s.accepting ? s.reason : "the server is shutting down";
  HttpResponse r = json_response(body, 503);
  if (s.state == ModelState::kLoading) r.headers.emplace_back("Retry-After", "5");
  responder->send(std::move(r));
}

void handle_load(const OpsContext& ctx, const http::HttpRequest& request, const std::shared_ptr<Responder>& responder) {
  std::string path = ctx.default_model_path;
  std::string name = ctx.default_model_id;
  if (request.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    if (openai::find_invalid_utf8(request.body) != std::string::npos) {
      return responder->send(http::error_response(http::invalid_request("the request body is not valid UTF-8")));
    }
    json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return responder->send(http::error_response(
          http::invalid_request("the body must be a JSON object like {\"path\": \"/models/m.gguf\", \"name\": \"m\"}")));
    }
    for (const auto& [key, value] : body.items()) {
      if (key != "path" && key != "name") {
        return responder->send(
            http::error_response(http::invalid_request("unknown field " + key + "; use path and name", key)));
      }
      if (!value.is_string()) {
        return responder->send(http::error_response(http::invalid_request(key + " must be a string", key)));
      }
    }
    if (body.contains("path")) {
      path = body["path"].get<std::string>();
      name = body.value("name", std::string());
    } else if (body.contains("name")) {
      name = body["name"].get<std::string>();
    }
  }
  if (path.empty() || !std::filesystem::path(path).is_absolute()) {
    return responder->send(
        http::error_response(http::invalid_request("path must be an absolute path to a GGUF file", "path")));
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return responder->send(http::error_response(http::invalid_request(path + " does not exist", "path")));
  }
  auto resolved = config::resolve_model_path(path);
  if (!resolved) return responder->send(http::error_response(http::invalid_request(resolved.error(), "path")));
  // Refuse a file that is not a servable model before unloading the one that works.
  if (auto geometry = config::read_kv_geometry(*resolved); !geometry) {
    return responder->send(http::error_response(
        http::invalid_request(*resolved + " is not a model Tandem can serve: " + geometry.error(), "path")));
  }
  ctx.scheduler.load_model(*resolved, model_id_for(*resolved, name), [responder](Result<ModelInfo> loaded) {
    if (!loaded) {
      return responder->send(http::error_response(http::internal_error("loading failed: " + loaded.error())));
    }
    responder->send(json_response({{"status", "ok"}, {"model", model_json(*loaded)}}));
  });
}

}  // namespace

std::string model_id_for(const std::string& path, const std::string& name) {
  if (!name.empty()) return name;
  std::filesystem::path p(path);
  return p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
}

void add_ops_routes(http::Router& router, const OpsContext& context) {
  const OpsContext ctx = context;
  router.add("GET", "/health", [ctx](const http::HttpRequest&, std::shared_ptr<Responder> res) {
    handle_health(ctx.scheduler, res);
  });
  router.add("GET", "/metrics", [ctx](const http::HttpRequest&, std::shared_ptr<Responder> res) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = ctx.metrics.render_prometheus();
    res->send(std::move(r));
  });
  router.add("POST", "/admin/model/unload", [ctx](const http::HttpRequest&, std::shared_ptr<Responder> res) {
    ctx.scheduler.unload_model([res](Status done) {
      if (!done) return res->send(http::error_response(http::unavailable(done.error(), "shutting_down")));
      res->send(json_response({{"status", "unloaded"}}));
    });
  });
  router.add("POST", "/admin/model/load", [ctx](const http::HttpRequest& req, std::shared_ptr<Responder> res) {
    handle_load(ctx, req, res);
  });
}

}  // namespace tandem::server
