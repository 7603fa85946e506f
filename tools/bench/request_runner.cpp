#include "tools/bench/request_runner.h"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

namespace tandem::bench {
namespace http = boost::beast::http;
using nlohmann::json;

namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A token arrived when a chunk carries text: chat's delta.content (or a reasoning model's
// reasoning_content), or the completions endpoint's text.
bool chunk_has_text(const json& chunk) {
  const auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return false;
  for (const json& choice : *choices) {
    if (!choice.is_object()) continue;
    if (const auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
      for (const char* key : {"content", "reasoning_content"}) {
        const auto text = delta->find(key);
        if (text != delta->end() && text->is_string() && !text->get_ref<const std::string&>().empty()) return true;
      }
    }
    if (const auto text = choice.find("text"); text != choice.end() && text->is_string() && !text->empty()) {
      return true;
    }
  }
  return false;
}

int64_t usage_completion_tokens(const json& body) {
  const auto usage = body.find("usage");
  if (usage == body.end() || !usage->is_object()) return -1;
  const auto tokens = usage->find("completion_tokens");
  return tokens != usage->end() && tokens->is_number_integer() ? tokens->get<int64_t>() : -1;
}

std::string error_message(const json& body) {
  const auto error = body.find("error");
  if (error == body.end()) return "";
  if (error->is_object()) {
    const auto message = error->find("message");
    if (message != error->end() && message->is_string()) return message->get<std::string>();
  }
  return error->dump();
}

const char* failure_kind(ExchangeFailure failure) {
  switch (failure) {
    case ExchangeFailure::kConnect: return "connect";
    case ExchangeFailure::kTimeout: return "timeout";
    case ExchangeFailure::kClosed: return "closed";
    case ExchangeFailure::kProtocol: return "protocol";
    case ExchangeFailure::kNone: break;
  }
  return "";
}

}  // namespace

void StreamMeter::on_event(const std::string& data, Clock::time_point now) {
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  const json chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    bad_json_ = true;
    return;
  }
  if (chunk.contains("error")) {
    error_ = error_message(chunk);
    return;
  }
  if (const int64_t tokens = usage_completion_tokens(chunk); tokens >= 0) usage_tokens_ = tokens;
  if (!chunk_has_text(chunk)) return;
  ++content_chunks_;
  if (!first_seen_) {
    first_seen_ = true;
    first_ = now;
  } else {
    gaps_ms_.push_back(ms_between(last_, now));
  }
  last_ = now;
}

void StreamMeter::finish(RequestRecord& record, Clock::time_point end) const {
  record.e2e_ms = ms_between(start_, end);
  record.ttft_ms = first_seen_ ? ms_between(start_, first_) : record.e2e_ms;
  record.itl_ms = gaps_ms_;
  record.output_tokens = usage_tokens_ >= 0 ? usage_tokens_ : content_chunks_;
  if (!error_.empty()) {
    record.error_kind = "stream_error";
    record.error_detail = error_;
  } else if (bad_json_) {
    record.error_kind = "bad_response";
    record.error_detail = "an event's data was not a JSON object";
  } else if (!done_) {
    record.error_kind = "incomplete";
    record.error_detail = "the stream ended without data: [DONE]";
  }
  record.ok = record.error_kind.empty();
}

std::string request_body(const RequestSpec& spec, const std::string& prompt) {
  json body = {{"model", spec.model}, {"max_tokens", spec.max_tokens}, {"stream", spec.stream}};
  if (spec.endpoint == Endpoint::kChat) {
    body["messages"] = json::array({{{"role", "user"}, {"content", prompt}}});
  } else {
    body["prompt"] = prompt;
  }
  if (spec.stream) body["stream_options"] = {{"include_usage", true}};
  if (spec.extra_body.is_object()) body.update(spec.extra_body);
  return body.dump();
}

RequestRecord run_request(HttpConnection& connection, const TargetUrl& target, const RequestSpec& spec,
                          const std::string& prompt) {
  const char* path = spec.endpoint == Endpoint::kChat ? "/v1/chat/completions" : "/v1/completions";
  http::request<http::string_body> request{http::verb::post, target.base_path + path, 11};
  request.set(http::field::host, target.host_header());
  request.set(http::field::user_agent, "tandem-bench");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::accept, spec.stream ? "text/event-stream" : "application/json");
  if (!spec.api_key.empty()) request.set(http::field::authorization, "Bearer " + spec.api_key);
  request.keep_alive(true);
  request.body() = request_body(spec, prompt);
  request.prepare_payload();

  RequestRecord record;
  const Clock::time_point start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.timeout_s));
  StreamMeter meter(start);
  SseDecoder sse;
  std::string body;
  bool is_event_stream = false;
  int status = 0;
  // An error response is read whole, never as a stream, whatever was asked.
  const auto on_header = [&](int code, std::string_view content_type) {
    is_event_stream = spec.stream && code == 200 && content_type.starts_with("text/event-stream");
  };
  const ExchangeResult result = connection.exchange(request, deadline, on_header, [&](std::string_view piece) {
    const Clock::time_point now = Clock::now();
    if (is_event_stream) {
      for (const std::string& data : sse.feed(piece)) meter.on_event(data, now);
    } else if (body.size() < (1u << 20)) {
      body.append(piece);
    }
  });
  const Clock::time_point end = Clock::now();
  status = result.status;
  record.e2e_ms = ms_between(start, end);
  record.ttft_ms = record.e2e_ms;
  if (result.failure != ExchangeFailure::kNone) {
    if (is_event_stream) meter.finish(record, end);
    record.ok = false;
    record.error_kind = failure_kind(result.failure);
    record.error_detail = result.detail;
    return record;
  }
  if (status != 200) {
    record.error_kind = "http_" + std::to_string(status);
    const json parsed = json::parse(body, nullptr, false);
    record.error_detail = parsed.is_object() ? error_message(parsed) : body.substr(0, 200);
    return record;
  }
  if (spec.stream) {
    if (!is_event_stream) {  // a 200 whose body is not an event stream: perhaps an error object
      const json parsed = json::parse(body, nullptr, false);
      record.error_kind = "bad_response";
      record.error_detail = parsed.is_object() && parsed.contains("error") ? error_message(parsed)
                                                                          : "the response was not an event stream";
      return record;
    }
    meter.finish(record, end);
    return record;
  }
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("choices")) {
    record.error_kind = "bad_response";
    record.error_detail = parsed.is_object() && parsed.contains("error") ? error_message(parsed)
                                                                        : "the body was not a completion";
    return record;
  }
  record.output_tokens = std::max<int64_t>(usage_completion_tokens(parsed), 0);
  record.ok = true;
  return record;
}

}  // namespace tandem::bench
