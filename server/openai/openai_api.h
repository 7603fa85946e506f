#pragma once
// The OpenAI-compatible routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models.
// Handlers parse and validate, then hand the request to the scheduler with a sink that answers
// (streamed as server-sent events, or whole); they never block and never throw.

#include <string>
#include <variant>
#include <vector>

#include "http/api_error.h"
#include "http/router.h"
#include "openai/completion_request.h"
#include "openai/reply_parser.h"
#include "scheduler/scheduler.h"

namespace tandem::openai {

// model_aliases (model.aliases): further names a request's "model" may give for the loaded model;
// responses still name its id.
void add_openai_routes(http::Router& router, server::Scheduler& scheduler, std::vector<std::string> model_aliases = {});

// True when a request's "model" names `model`: its id, its file name, or one of the aliases.
bool names_model(const std::string& requested, const server::ModelInfo& model, const std::vector<std::string>& aliases);

// The model a generation request naming `requested` may run on, or the refusal (503 while none is
// ready, 404 for another name). Both front doors (HTTP and gRPC) answer with these words.
std::variant<server::ModelInfo, http::ApiError> servable_model(const server::SchedulerStatus& status,
                                                               const std::string& requested,
                                                               const std::vector<std::string>& aliases);

// A parsed request made ready for the scheduler, as both front doors (HTTP and gRPC) submit it:
// for chat, the chat plan applied (chat_plan.h: tools and chat_template_kwargs in the prompt, the
// grammar of a forced call, the reply's prefix in job.reply_prefix) and how the reply splits into
// reasoning, content and tool calls (`reply`, for a ReplyParser fed job.reply_prefix first).
struct PreparedGeneration {
  server::GenerationJob job;
  ReplyOptions reply;
};
// Fails (400) as plan_chat fails. `r` is consumed.
std::variant<PreparedGeneration, http::ApiError> prepare_generation(CompletionRequest& r,
                                                                   const server::ModelInfo& model, bool chat,
                                                                   std::string request_id);

// The status and OpenAI error for a scheduler's refusal or failure.
http::ApiError to_api_error(const server::SchedulerError& error);

}  // namespace tandem::openai
