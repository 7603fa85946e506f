#pragma once
// tandem.v1.Inference over the scheduler, on gRPC's callback API: no thread waits on a call.
// Chat and Complete validate with the HTTP API's parser (request_translation.h), prepare the job
// as the HTTP API does (openai::prepare_generation: tools, chat_template_kwargs, a forced call's
// grammar), submit it with a sink that streams chunks (a chat reply split into text, reasoning and
// tool-call pieces by the HTTP API's ReplyParser: reply_chunks.h), and map refusals with
// grpc_status.h. A slow reader never holds a thread: text that arrives while a write is in flight
// is merged into the next chunk. n > 1 choices run as the HTTP API runs them (multi_choice.h: one
// job each), their chunks interleaved with each one's index; a chunk carries the log probabilities
// of the tokens whose text it carries. A call the client cancels cancels its jobs' CancelTokens.

#include <memory>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "monitor/monitor.h"
#include "scheduler/scheduler.h"
#include "tandem/v1/inference.grpc.pb.h"

namespace tandem::grpc_api {

struct ServiceOptions {
  std::vector<std::string> api_keys;       // empty = no key needed (security.api_keys, plus admin keys)
  std::vector<std::string> model_aliases;  // model.aliases
};

class InferenceService final : public tandem::v1::Inference::CallbackService {
 public:
  // `monitor` may be null (monitoring off). All must outlive the gRPC server.
  InferenceService(ServiceOptions options, server::Scheduler& scheduler, metrics::ServerMetrics& metrics,
                   const monitor::Monitor* monitor);

  grpc::ServerWriteReactor<tandem::v1::ChatChunk>* Chat(grpc::CallbackServerContext* context,
                                                        const tandem::v1::ChatRequest* request) override;
  grpc::ServerWriteReactor<tandem::v1::CompleteChunk>* Complete(grpc::CallbackServerContext* context,
                                                                const tandem::v1::CompleteRequest* request) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* context, const tandem::v1::ListModelsRequest* request,
                                       tandem::v1::ListModelsResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context, const tandem::v1::GetStatsRequest* request,
                                     tandem::v1::GetStatsResponse* response) override;

 private:
  template <class Chunk, class Request>
  grpc::ServerWriteReactor<Chunk>* generate(grpc::CallbackServerContext* context, const Request& request, bool chat,
                                            std::string route);
  bool authorized(const grpc::CallbackServerContext* context) const;

  ServiceOptions options_;
  server::Scheduler& scheduler_;
  metrics::ServerMetrics& metrics_;
  const monitor::Monitor* monitor_;
};

}  // namespace tandem::grpc_api
