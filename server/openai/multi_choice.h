#pragma once
// n > 1 (OpenAI's "n"): one request's n choices run as n generation jobs side by side, and their
// answers merge into one response. Each choice answers through its own http::Responder, which
// hands what the choice's ordinary sink writes (a whole body, or stream chunks) to one merger:
//   - whole: the n bodies become one, choices[i] with index i; usage counts the prompt once (as
//     OpenAI does) and sums the completion tokens; timings sum the tokens and keep the longest ms;
//   - streamed: every chunk goes out as it comes with its choice's index; the usage chunk
//     (stream_options.include_usage) and "[DONE]" follow the last choice's end;
//   - the first error (a refusal, a failure) is the answer, and cancels the other choices; a
//     client that hangs up cancels all n.
// So a sink's features (logprobs, stop strings, ...) hold per choice without knowing about n.
// The scheduler's engine computes the shared prompt once: the other choices copy its keys and
// values (tandem::SequenceBatcher).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api_error.h"
#include "http/responder.h"
#include "scheduler/scheduler.h"

namespace tandem::openai {

using ChoiceSinkFactory = std::function<std::shared_ptr<server::GenerationSink>(std::shared_ptr<http::Responder>)>;

// Submits n copies of `job` (choice i samples with seed + i when a seed is given, else a random
// seed of its own), each with the sink make_sink builds over that choice's responder. Answers the
// client through `responder`: a refusal (server busy, n above what the server runs at once) as
// the error, else the merged response. Never throws.
void submit_choices(server::Scheduler& scheduler, const server::GenerationJob& job, int32_t n,
                    std::shared_ptr<http::Responder> responder, const ChoiceSinkFactory& make_sink);

// The parts both front doors share (the gRPC API runs n choices in one stream, and the gateway's
// gRPC links merge them back as this file does):
// the refusal of an n above what the server runs at once (400 naming "n"), or nullopt;
std::optional<http::ApiError> too_many_choices(const server::SchedulerStatus& status, int32_t n);
// choice i's copy of `job`: its own CancelToken, seed + i (when a seed is given), its request id;
server::GenerationJob choice_job(const server::GenerationJob& job, int32_t i, int32_t n);
// the n whole bodies (one choice each, in choice order) as one, as a non-streamed n > 1 answer.
nlohmann::json merge_choice_bodies(std::vector<nlohmann::json> bodies);

}  // namespace tandem::openai
