#include "openai/openai_api.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "log/log.h"
#include "openai/chat_plan.h"
#include "openai/completion_request.h"
#include "openai/multi_choice.h"
#include "openai/reply_parser.h"
#include "openai/response_builder.h"

namespace tandem::openai {
namespace {

using http::ApiError;
using http::HttpResponse;
using http::Responder;
using nlohmann::json;
using server::GenerationOutcome;
using server::SchedulerError;
using server::StartInfo;
using tandem::TokenLogprobs;

HttpResponse json_response(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body);
  return r;
}

Timings timings_of(const GenerationOutcome& o) {
  return Timings{std::max(0, o.n_prompt_tokens - o.n_cached_tokens), o.n_cached_tokens, o.prompt_ms,
                 o.n_completion_tokens, o.predicted_ms};
}

// How a chat reply is split (reply_parser.h), and the text it was made to start with (chat_plan.h).
struct ReplySpec {
  ReplyOptions options;
  std::string prefix;
};

// Answers with the whole completion once it is done.
class BufferedSink : public server::GenerationSink {
 public:
  BufferedSink(std::shared_ptr<Responder> responder, ResponseHeader header, bool chat, bool logprobs,
               ReplySpec reply = {})
      : responder_(std::move(responder)),
        header_(std::move(header)),
        chat_(chat),
        logprobs_(logprobs),
        reply_prefix_(std::move(reply.prefix)),
        parser_(reply.options) {}

  void on_start(const StartInfo&) override { parser_.feed(reply_prefix_); }
  void on_token(const TokenLogprobs& token) override { tokens_.push_back(token); }
  bool on_text(std::string_view piece) override {
    text_ += piece;
    if (chat_) parser_.feed(piece);
    return !responder_->disconnected();
  }
  void on_finish(const GenerationOutcome& o) override {
    const Usage usage{o.n_prompt_tokens, o.n_completion_tokens};
    json body = chat_ ? chat_completion(header_, text_, o.finish_reason, usage)
                      : text_completion(header_, text_, o.finish_reason, usage);
    if (chat_) {
      parser_.finish();
      put_chat_reply(body["choices"][0], parser_.content(), parser_.reasoning(), parser_.tool_calls());
    }
    body["timings"] = timings_json(timings_of(o));
    if (logprobs_) {
      size_t offset = 0;
      body["choices"][0]["logprobs"] = chat_ ? chat_logprobs_json(tokens_) : text_logprobs_json(tokens_, offset);
    }
    responder_->send(json_response(body));
  }
  void on_error(const SchedulerError& e) override { responder_->send(http::error_response(to_api_error(e))); }

 private:
  std::shared_ptr<Responder> responder_;
  ResponseHeader header_;
  bool chat_;
  bool logprobs_;
  std::string reply_prefix_;
  ReplyParser parser_;
  std::string text_;
  std::vector<TokenLogprobs> tokens_;
};

// Streams chunks as server-sent events, ending with "data: [DONE]".
class StreamingSink : public server::GenerationSink {
 public:
  StreamingSink(std::shared_ptr<Responder> responder, ResponseHeader header, bool chat, bool include_usage,
                bool logprobs, ReplySpec reply = {})
      : responder_(std::move(responder)),
        header_(std::move(header)),
        chat_(chat),
        include_usage_(include_usage),
        logprobs_(logprobs),
        reply_prefix_(std::move(reply.prefix)),
        parser_(reply.options) {}

  void on_start(const StartInfo&) override {
    started_ = true;
    responder_->start_stream(200, "text/event-stream");
    // OpenAI's first chat chunk announces the role with empty content.
    if (chat_) responder_->send_chunk(sse_data(chat_chunk(header_, {{"role", "assistant"}, {"content", ""}}, "", include_usage_)));
    if (chat_) send_reply(parser_.feed(reply_prefix_));
  }
  void on_token(const TokenLogprobs& token) override { pending_.push_back(token); }
  bool on_text(std::string_view piece) override {
    if (responder_->disconnected()) return false;
    if (chat_) {
      send_reply(parser_.feed(piece));
      return true;
    }
    json chunk = text_chunk(header_, piece, "", include_usage_);
    attach_logprobs(chunk);
    responder_->send_chunk(sse_data(chunk));
    return true;
  }
  void on_finish(const GenerationOutcome& o) override {
    if (chat_) send_reply(parser_.finish());
    const std::string finish = chat_ && !parser_.tool_calls().empty() ? "tool_calls" : o.finish_reason;
    json last = chat_ ? chat_chunk(header_, json::object(), finish, include_usage_)
                      : text_chunk(header_, "", o.finish_reason, include_usage_);
    // As llama.cpp's server: the chunk with the finish_reason carries the timings.
    last["timings"] = timings_json(timings_of(o));
    attach_logprobs(last);  // tokens whose text was held back (a possible stop string) or is empty
    std::string tail = sse_data(last);
    if (include_usage_) tail += sse_data(usage_chunk(header_, chat_, Usage{o.n_prompt_tokens, o.n_completion_tokens}));
    tail += kSseDone;
    responder_->end_stream(std::move(tail));
  }
  void on_error(const SchedulerError& e) override {
    const ApiError error = to_api_error(e);
    if (!started_) return responder_->send(http::error_response(error));
    // Headers are out: the error travels in the stream, as OpenAI does, and without "[DONE]",
    // which would tell a client that the text it has is the whole answer.
    HttpResponse rendered = http::error_response(error);
    responder_->end_stream("data: " + rendered.body + "\n\n");
  }

 private:
  std::shared_ptr<Responder> responder_;
  ResponseHeader header_;
  bool chat_;
  // The tokens heard since the last chunk go out with this one: a chunk's text and its tokens
  // need not match one to one (a character split over tokens, text held back for a stop string).
  void attach_logprobs(json& chunk) {
    if (!logprobs_ || pending_.empty()) return;
    chunk["choices"][0]["logprobs"] = chat_ ? chat_logprobs_json(pending_) : text_logprobs_json(pending_, text_offset_);
    pending_.clear();
  }
  // A chat reply's new parts: reasoning and content in one chunk, then the calls' pieces. A piece
  // of text that decided nothing yet (held back) sends nothing.
  void send_reply(const ReplyDelta& d) {
    for (json& part : chat_reply_deltas(d)) {
      json chunk = chat_chunk(header_, std::move(part), "", include_usage_);
      attach_logprobs(chunk);
      responder_->send_chunk(sse_data(chunk));
    }
  }

  bool include_usage_;
  bool logprobs_;
  std::string reply_prefix_;
  ReplyParser parser_;
  bool started_ = false;
  std::vector<TokenLogprobs> pending_;
  size_t text_offset_ = 0;
};

void handle_generation(bool chat, server::Scheduler& scheduler, const std::vector<std::string>& aliases,
                       const http::HttpRequest& request, std::shared_ptr<Responder> responder) {
  ParsedRequest parsed = chat ? parse_chat_request(request.body) : parse_completion_request(request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return responder->send(http::error_response(*error));
  CompletionRequest& r = std::get<CompletionRequest>(parsed);

  auto servable = servable_model(scheduler.status(), r.model, aliases);
  if (auto* refused = std::get_if<ApiError>(&servable)) return responder->send(http::error_response(*refused));
  const server::ModelInfo& model = std::get<server::ModelInfo>(servable);
  auto prepared = prepare_generation(r, model, chat, request.request_id);
  if (auto* error = std::get_if<ApiError>(&prepared)) return responder->send(http::error_response(*error));
  server::GenerationJob& job = std::get<PreparedGeneration>(prepared).job;
  const ReplySpec reply{std::get<PreparedGeneration>(prepared).reply, job.reply_prefix};
  ResponseHeader header{new_completion_id(chat), static_cast<int64_t>(std::time(nullptr)), model.id};
  // One sink per choice; with n > 1 each writes to its choice's responder and multi_choice merges them.
  auto make_sink = [&](std::shared_ptr<Responder> to) -> std::shared_ptr<server::GenerationSink> {
    if (r.stream) {
      return std::make_shared<StreamingSink>(std::move(to), header, chat, r.include_usage, r.top_logprobs >= 0, reply);
    }
    return std::make_shared<BufferedSink>(std::move(to), header, chat, r.top_logprobs >= 0, reply);
  };
  if (r.n > 1) return submit_choices(scheduler, job, r.n, std::move(responder), make_sink);
  std::shared_ptr<server::GenerationSink> sink = make_sink(responder);
  // A client that hangs up cancels its generation, queued or running.
  responder->on_disconnect([cancel = job.cancel] { cancel->cancel(); });
  if (auto refused = scheduler.submit(std::move(job), sink)) {
    responder->send(http::error_response(to_api_error(*refused)));
  }
}

json model_json(const server::ModelInfo& m) {
  return {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", "tandem"}, {"context_length", m.n_ctx}};
}

void handle_models(server::Scheduler& scheduler, std::shared_ptr<Responder> responder) {
  const server::SchedulerStatus status = scheduler.status();
  json data = json::array();
  if (status.model) data.push_back(model_json(*status.model));
  json body = {{"object", "list"}, {"data", data}};
  // Not OpenAI's, and ignored by its clients: why the list is empty (unloaded, and by whom).
  if (!status.model) body["reason"] = status.reason;
  responder->send(json_response(body));
}

}  // namespace

std::variant<PreparedGeneration, ApiError> prepare_generation(CompletionRequest& r, const server::ModelInfo& model,
                                                             bool chat, std::string request_id) {
  PreparedGeneration out;
  server::GenerationJob& job = out.job;
  if (chat) {
    auto planned = plan_chat(r, model.chat_template);
    if (auto* error = std::get_if<ApiError>(&planned)) return *error;
    ChatPlan& plan = std::get<ChatPlan>(planned);
    if (plan.grammar) r.sampling.grammar = plan.grammar;
    r.messages_json = std::move(plan.messages_json);
    job.template_vars_json = std::move(plan.template_vars_json);
    job.visible_control_tokens = std::move(plan.visible_control_tokens);
    job.reply_prefix = std::move(plan.reply_prefix);
    out.reply = plan.reply;
  }
  job.request_id = std::move(request_id);
  job.chat = chat;
  job.prompt = std::move(r.prompt);
  job.messages_json = std::move(r.messages_json);
  job.sampling = std::move(r.sampling);
  job.max_tokens = r.max_tokens;
  job.top_logprobs = r.top_logprobs;
  return out;
}

bool names_model(const std::string& requested, const server::ModelInfo& model, const std::vector<std::string>& aliases) {
  if (requested == model.id || requested == std::filesystem::path(model.path).filename().string()) return true;
  return std::find(aliases.begin(), aliases.end(), requested) != aliases.end();
}

std::variant<server::ModelInfo, ApiError> servable_model(const server::SchedulerStatus& status,
                                                         const std::string& requested,
                                                         const std::vector<std::string>& aliases) {
  // A model that monitoring unloaded for lack of memory is still named here: submit() reloads it,
  // or refuses with the reason and Retry-After.
  const std::optional<server::ModelInfo>& model = status.model ? status.model : status.reloadable;
  if ((status.state != server::ModelState::kReady || !status.model) && !status.reloadable) {
    const bool loading = status.state == server::ModelState::kLoading;
    return http::unavailable("no model is ready: " + status.reason, loading ? "model_loading" : "model_not_loaded",
                             loading ? 5 : 0);
  }
  if (!names_model(requested, *model, aliases)) {
    return http::not_found("the model \"" + requested + "\" does not exist; this server serves \"" + model->id + "\"",
                           "model", "model_not_found");
  }
  return *model;
}

ApiError to_api_error(const SchedulerError& e) {
  using server::ErrorKind;
  switch (e.kind) {
    case ErrorKind::kInvalidRequest: return http::invalid_request(e.message, e.param, e.code);
    case ErrorKind::kQueueFull: return http::too_many_requests(e.message, std::max(1, e.retry_after_seconds));
    case ErrorKind::kUnavailable: return http::unavailable(e.message, e.code, e.retry_after_seconds);
    case ErrorKind::kCancelled: return ApiError{499, e.message, "invalid_request_error", "", "cancelled"};
    case ErrorKind::kInternal: break;
  }
  return http::internal_error(e.message);
}

void add_openai_routes(http::Router& router, server::Scheduler& scheduler, std::vector<std::string> model_aliases) {
  auto shared_aliases = std::make_shared<const std::vector<std::string>>(std::move(model_aliases));
  router.add("POST", "/v1/chat/completions",
             [&scheduler, shared_aliases](const http::HttpRequest& req, std::shared_ptr<Responder> res) {
               handle_generation(true, scheduler, *shared_aliases, req, std::move(res));
             });
  router.add("POST", "/v1/completions",
             [&scheduler, shared_aliases](const http::HttpRequest& req, std::shared_ptr<Responder> res) {
               handle_generation(false, scheduler, *shared_aliases, req, std::move(res));
             });
  router.add("GET", "/v1/models", [&scheduler](const http::HttpRequest&, std::shared_ptr<Responder> res) {
    handle_models(scheduler, std::move(res));
  });
  router.add_prefix("GET", "/v1/models/", [&scheduler, shared_aliases](const http::HttpRequest& req,
                                                                        std::shared_ptr<Responder> res) {
    const std::vector<std::string>& aliases = *shared_aliases;
    const std::string id = req.path.substr(std::string_view("/v1/models/").size());
    const server::SchedulerStatus status = scheduler.status();
    if (!status.model || !names_model(id, *status.model, aliases)) {
      return res->send(http::error_response(
          http::not_found("the model \"" + id + "\" does not exist", "model", "model_not_found")));
    }
    res->send(json_response(model_json(*status.model)));
  });
}

}  // namespace tandem::openai
