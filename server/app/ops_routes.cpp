#include "app/ops_routes.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/model_directory.h"
#include "http/api_error.h"
#include "log/log.h"
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
  responder->send(health_response(scheduler.status()));
}

http::ApiError load_refused(std::string message) { return http::invalid_request(std::move(message), "path"); }

// What a load request asks for: a file (path, as sent; "" = model.path) and the id to serve it as.
struct LoadRequest {
  std::string path;
  std::string name;
};

std::optional<http::ApiError> parse_load(const OpsContext& ctx, const std::string& text, LoadRequest& out) {
  out = {"", ctx.default_model_id};
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
  if (openai::find_invalid_utf8(text) != std::string::npos) {
    return http::invalid_request("the request body is not valid UTF-8");
  }
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return http::invalid_request("the body must be a JSON object like {\"path\": \"m.gguf\", \"name\": \"m\"}");
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "path" && key != "name") return http::invalid_request("unknown field " + key + "; use path and name", key);
    if (!value.is_string()) return http::invalid_request(key + " must be a string", key);
  }
  if (body.contains("path")) {
    out.path = body["path"].get<std::string>();
    out.name = body.value("name", std::string());
    if (out.path.empty()) return load_refused("path is empty; name a .gguf file in model.directory, or omit path");
  } else if (body.contains("name")) {
    out.name = body["name"].get<std::string>();
  }
  return std::nullopt;
}

void handle_load(const OpsContext& ctx, const http::HttpRequest& request, const std::shared_ptr<Responder>& responder) {
  LoadRequest load;
  if (auto bad = parse_load(ctx, request.body, load)) return responder->send(http::error_response(*bad));
  const bool reload = load.path.empty() || (ctx.model_directory.empty() && load.path == ctx.default_model_path);
  if (!reload && ctx.model_directory.empty()) {
    return responder->send(http::error_response(http::ApiError{
        403,
        "loading a model by path is off: the operator sets model.directory to the folder models may be loaded "
        "from; without it, send {} to reload model.path",
        "invalid_request_error", "path", "model_directory_not_set"}));
  }
  // realpath, open and the GGUF header read may block (a FIFO, a slow disk), so they run on the
  // file worker; the answer goes back through the responder from there.
  ctx.files.post([&scheduler = ctx.scheduler, directory = ModelDirectory(ctx.model_directory),
                  default_path = ctx.default_model_path, load, reload, request_id = request.request_id,
                  client = request.client, responder] {
    Result<std::string> file = reload ? vet_model_file(default_path, "model.path") : directory.resolve(load.path);
    if (file && !reload) file = vet_model_file(*file, load.path);
    // Refuse a file that is not a servable model before unloading the one that works.
    if (!file) return responder->send(http::error_response(load_refused(file.error())));
    log::info("admin: loading " + *file + " (asked by " + client + ")", request_id);
    scheduler.load_model(*file, model_id_for(*file, load.name), [responder](Result<ModelInfo> loaded) {
      if (!loaded) {
        return responder->send(http::error_response(http::internal_error("loading failed: " + loaded.error())));
      }
      responder->send(json_response({{"status", "ok"}, {"model", model_json(*loaded)}}));
    });
  });
}

// Wraps an admin handler in the admin access check.
http::Handler admin_route(const AdminAccess& access, http::Handler handler) {
  return [access, handler = std::move(handler)](const http::HttpRequest& req, std::shared_ptr<Responder> res) {
    if (auto refused = check_admin_request(access, req)) {
      // Debug, not info: refusals are what a flood of hostile requests produces.
      log::debug("admin: refused " + req.method + " " + req.path + " from " + req.client + ": " + refused->code,
                 req.request_id);
      return res->send(http::error_response(*refused));
    }
    handler(req, std::move(res));
  };
}

}  // namespace

HttpResponse health_response(const SchedulerStatus& s) {
  json body = {{"status", s.accepting ? state_name(s.state) : "shutting_down"},
               {"queued", s.queued},
               {"running", s.running}};
  const bool stalled = s.running > 0 && s.seconds_since_step >= kStalledStepSeconds;
  if (s.state == ModelState::kReady && s.accepting && !stalled) {
    body["model"] = s.model ? s.model->id : "";
    return json_response(body);
  }
  if (!s.accepting) {
    body["reason"] = "the server is shutting down";
  } else if (s.state == ModelState::kReady) {
    body["status"] = "stalled";
    body["reason"] = "no forward step has finished for " + std::to_string(static_cast<int64_t>(s.seconds_since_step)) +
                     " s while " + std::to_string(s.running) + " sequences run; see the server log";
  } else {
    body["reason"] = s.reason;
  }
  HttpResponse r = json_response(body, 503);
  if (s.state == ModelState::kLoading) r.headers.emplace_back("Retry-After", "5");
  return r;
}

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
  router.add("POST", "/admin/model/unload",
             admin_route(ctx.admin, [ctx](const http::HttpRequest& req, std::shared_ptr<Responder> res) {
               log::info("admin: unloading the model (asked by " + req.client + ")", req.request_id);
               ctx.scheduler.unload_model([res](Status done) {
                 if (!done) return res->send(http::error_response(http::unavailable(done.error(), "shutting_down")));
                 res->send(json_response({{"status", "unloaded"}}));
               });
             }));
  router.add("POST", "/admin/model/load",
             admin_route(ctx.admin, [ctx](const http::HttpRequest& req, std::shared_ptr<Responder> res) {
               handle_load(ctx, req, res);
             }));
}

}  // namespace tandem::server
