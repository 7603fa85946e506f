#pragma once
// One chat completion (or completion) against an OpenAI-compatible server, timed as the client sees it: time to
// first token (TTFT), the gaps between tokens (ITL), end to end (E2E), and the output token count
// from the response's usage (streaming asks for it with stream_options.include_usage; a server
// that ignores that gets its content chunks counted instead). Without streaming the first token
// arrives with the last, so TTFT equals E2E and there are no gaps.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/http_connection.h"
#include "tools/bench/sse_decoder.h"

namespace tandem::bench {

// Which OpenAI endpoint is driven: chat (messages, the server's chat template applies) or plain
// completions (the prompt as is; for models without a chat template).
enum class Endpoint { kChat, kCompletions };

struct RequestSpec {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;
  std::string api_key;  // "" = no Authorization header
  int max_tokens = 64;
  bool stream = false;
  nlohmann::json extra_body = nlohmann::json::object();  // merged into every request body
  double timeout_s = 300;
};

struct RequestRecord {
  bool ok = false;
  // Why not, when !ok: "connect", "timeout", "closed", "protocol", "http_<status>",
  // "stream_error" (an error event in the stream), "incomplete" (a stream without [DONE]),
  // "bad_response" (a body that is not the JSON a completion should be).
  std::string error_kind;
  std::string error_detail;
  double ttft_ms = 0;
  double e2e_ms = 0;
  std::vector<double> itl_ms;
  int64_t output_tokens = 0;
};

// The request body for `prompt` (exposed for the unit tests).
std::string request_body(const RequestSpec& spec, const std::string& prompt);

// Sends one request on `connection` and measures it. Never throws.
RequestRecord run_request(HttpConnection& connection, const TargetUrl& target, const RequestSpec& spec,
                          const std::string& prompt);

// Feeds a streamed response's events in, one at a time (exposed for the unit tests).
class StreamMeter {
 public:
  explicit StreamMeter(Clock::time_point start) : start_(start) {}
  // `data` of one SSE event, which arrived at `now`.
  void on_event(const std::string& data, Clock::time_point now);
  // Completes `record` (ok, error_kind, timings, tokens) from what was seen.
  void finish(RequestRecord& record, Clock::time_point end) const;

 private:
  Clock::time_point start_;
  bool first_seen_ = false;
  Clock::time_point first_{};
  Clock::time_point last_{};
  std::vector<double> gaps_ms_;
  int64_t content_chunks_ = 0;
  int64_t usage_tokens_ = -1;
  bool done_ = false;
  std::string error_;
  bool bad_json_ = false;
};

}  // namespace tandem::bench
