#include "openai/multi_choice.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api_error.h"
#include "openai/openai_api.h"
#include "openai/response_builder.h"

namespace tandem::openai {
namespace {

using nlohmann::json;

int64_t int_at(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<int64_t>() : 0;
}

double number_at(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_number() ? it->get<double>() : 0.0;
}

// Sums the n choices' llama.cpp timings: tokens add up, the milliseconds are the longest choice's
// (the choices run side by side), so the rates are the whole request's.
json merged_timings(const std::vector<json>& all) {
  Timings t;
  for (const json& one : all) {
    t.prompt_n += static_cast<int32_t>(int_at(one, "prompt_n"));
    t.cache_n += static_cast<int32_t>(int_at(one, "cache_n"));
    t.predicted_n += static_cast<int32_t>(int_at(one, "predicted_n"));
    t.prompt_ms = std::max(t.prompt_ms, number_at(one, "prompt_ms"));
    t.predicted_ms = std::max(t.predicted_ms, number_at(one, "predicted_ms"));
  }
  return timings_json(t);
}

// What the choices wrote, put together. Thread-safe: choices answer from the scheduler's threads,
// a hang-up comes from an I/O thread. Calls into the real responder only post work, so they may be
// made under the lock.
class ChoiceMerger : public std::enable_shared_from_this<ChoiceMerger> {
 public:
  ChoiceMerger(std::shared_ptr<http::Responder> responder, int32_t n)
      : responder_(std::move(responder)), n_(n), bodies_(static_cast<size_t>(n)) {}

  // Registers for the client's hang-up once (a responder keeps one callback).
  void watch_disconnect() {
    std::weak_ptr<ChoiceMerger> weak = shared_from_this();
    responder_->on_disconnect([weak] {
      if (auto self = weak.lock()) self->cancel_all();
    });
  }

  // A choice's cancellation (its job's CancelToken); run at once when all are cancelled already.
  void add_cancel(std::function<void()> cancel) {
    {
      std::lock_guard lock(mutex_);
      if (!cancelled_) {
        cancels_.push_back(std::move(cancel));
        return;
      }
    }
    cancel();
  }

  void cancel_all() {
    std::vector<std::function<void()>> cancels;
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
      cancels.swap(cancels_);
    }
    for (auto& c : cancels) c();
  }

  // Answered (or failed): the choices still running should stop.
  bool disconnected() const { return done_.load() || responder_->disconnected(); }

  // A refusal before or after some choices were submitted: it is the answer.
  void fail(const http::HttpResponse& error) {
    {
      std::lock_guard lock(mutex_);
      fail_locked(error);
    }
    cancel_all();
  }

  void send(int32_t index, http::HttpResponse response) {
    bool failed = false;
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      json body = response.status == 200 ? json::parse(response.body, nullptr, false) : json();
      if (response.status != 200 || !body.is_object()) {
        fail_locked(response);
        failed = true;
      } else {
        bodies_[static_cast<size_t>(index)] = std::move(body);
        if (++answered_ == n_) send_merged_locked(response);
      }
    }
    if (failed) cancel_all();
  }

  void start_stream(int status, std::string content_type, http::Headers headers) {
    std::lock_guard lock(mutex_);
    if (done_ || stream_started_) return;
    stream_started_ = true;
    responder_->start_stream(status, std::move(content_type), std::move(headers));
  }

  void send_chunk(int32_t index, const std::string& data) {
    bool failed = false;
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      failed = forward_events_locked(index, data);
    }
    if (failed) cancel_all();
  }

  void end_stream(int32_t index, const std::string& last) {
    bool failed = false;
    {
      std::lock_guard lock(mutex_);
      if (done_) return;
      failed = forward_events_locked(index, last);
      if (!failed && ++ended_ == n_) {
        std::string tail;
        if (usage_chunk_) {
          json& usage = (*usage_chunk_)["usage"];
          usage["completion_tokens"] = completion_tokens_;
          usage["total_tokens"] = int_at(usage, "prompt_tokens") + completion_tokens_;
          tail += sse_data(*usage_chunk_);
        }
        tail += kSseDone;
        done_ = true;
        responder_->end_stream(std::move(tail));
      }
    }
    if (failed) cancel_all();
  }

 private:
  void fail_locked(const http::HttpResponse& error) {
    if (done_) return;
    done_ = true;
    if (!stream_started_) return responder_->send(error);
    // Headers are out: the error ends the stream, without "[DONE]" (as a single choice's does).
    responder_->end_stream("data: " + error.body + "\n\n");
  }

  void send_merged_locked(http::HttpResponse response) {
    done_ = true;
    response.body = dump(merge_choice_bodies(std::move(bodies_)));
    responder_->send(std::move(response));
  }

  // Forwards one choice's server-sent events with its index; keeps the usage chunk and "[DONE]"
  // for the end. True when an event was an error, which ends the response.
  bool forward_events_locked(int32_t index, const std::string& data) {
    std::string out;
    size_t at = 0;
    bool failed = false;
    while (at < data.size() && !failed) {
      size_t end = data.find("\n\n", at);
      if (end == std::string::npos) end = data.size();
      const std::string_view event = std::string_view(data).substr(at, end - at);
      at = end + 2;
      if (!event.starts_with("data: ")) {
        if (!event.empty()) out += std::string(event) + "\n\n";  // comments, other fields: as they are
        continue;
      }
      const std::string_view payload = event.substr(6);
      if (payload == "[DONE]") continue;
      json chunk = json::parse(payload, nullptr, false);
      if (!chunk.is_object()) {
        out += std::string(event) + "\n\n";
        continue;
      }
      if (chunk.contains("error")) {
        if (!out.empty()) responder_->send_chunk(std::move(out));
        out.clear();
        done_ = true;
        responder_->end_stream(std::string(event) + "\n\n");
        failed = true;
        break;
      }
      auto choices = chunk.find("choices");
      if (choices != chunk.end() && choices->is_array() && choices->empty() && chunk.contains("usage") &&
          chunk["usage"].is_object()) {
        completion_tokens_ += int_at(chunk["usage"], "completion_tokens");
        if (!usage_chunk_) usage_chunk_ = std::move(chunk);
        continue;
      }
      if (choices != chunk.end() && choices->is_array()) {
        for (json& choice : *choices) choice["index"] = index;
      }
      out += sse_data(chunk);
    }
    if (!out.empty()) responder_->send_chunk(std::move(out));
    return failed;
  }

  const std::shared_ptr<http::Responder> responder_;
  const int32_t n_;
  mutable std::mutex mutex_;
  std::atomic<bool> done_{false};  // the response is complete (or failed): ignore the rest
  bool stream_started_ = false;
  bool cancelled_ = false;
  std::vector<std::function<void()>> cancels_;
  std::vector<json> bodies_;  // whole: each choice's body
  int32_t answered_ = 0;
  int32_t ended_ = 0;                 // streamed: choices whose stream ended
  std::optional<json> usage_chunk_;  // streamed: the first choice's usage chunk, summed into
  int64_t completion_tokens_ = 0;
};

// What one choice's sink sees as its responder.
class ChoiceResponder final : public http::Responder {
 public:
  ChoiceResponder(std::shared_ptr<ChoiceMerger> merger, int32_t index) : merger_(std::move(merger)), index_(index) {}

  void send(http::HttpResponse response) override { merger_->send(index_, std::move(response)); }
  void start_stream(int status, std::string content_type, http::Headers headers) override {
    merger_->start_stream(status, std::move(content_type), std::move(headers));
  }
  void send_chunk(std::string data) override { merger_->send_chunk(index_, data); }
  void end_stream(std::string last) override { merger_->end_stream(index_, last); }
  void on_disconnect(std::function<void()> callback) override { merger_->add_cancel(std::move(callback)); }
  bool disconnected() const override { return merger_->disconnected(); }

 private:
  std::shared_ptr<ChoiceMerger> merger_;
  int32_t index_;
};

}  // namespace

std::optional<http::ApiError> too_many_choices(const server::SchedulerStatus& status, int32_t n) {
  // Each choice holds a place of server.max_concurrent_requests: more than all of them never runs.
  const int64_t max_in_flight = status.max_in_flight;
  if (max_in_flight > 0 && n > max_in_flight) {
    return http::invalid_request(
        "n is " + std::to_string(n) + ", but this server runs at most " + std::to_string(max_in_flight) +
            " requests at once (server.max_concurrent_requests) and each choice takes one; ask for fewer choices",
        "n");
  }
  return std::nullopt;
}

server::GenerationJob choice_job(const server::GenerationJob& job, int32_t i, int32_t n) {
  server::GenerationJob choice = job;
  choice.cancel = std::make_shared<server::CancelToken>();  // its own: the scheduler tracks jobs by token
  if (job.sampling.seed != kRandomSeed) {
    // seed, seed + 1, ...; stepping over the value that means "random", so every choice stays reproducible.
    uint64_t seed = job.sampling.seed + static_cast<uint64_t>(i);
    if (seed == kRandomSeed) seed += static_cast<uint64_t>(n);
    choice.sampling.seed = seed;
  }
  choice.request_id = job.request_id + "/" + std::to_string(i);
  return choice;
}

json merge_choice_bodies(std::vector<json> bodies) {
  const int32_t n = static_cast<int32_t>(bodies.size());
  if (n == 0) return json::object();
  json merged = bodies[0];
  json choices = json::array();
  std::vector<json> timings;
  int64_t completion_tokens = 0;
  for (int32_t i = 0; i < n; ++i) {
    json& body = bodies[static_cast<size_t>(i)];
    if (body.contains("choices") && body["choices"].is_array()) {
      for (json& choice : body["choices"]) {
        choice["index"] = i;
        choices.push_back(std::move(choice));
      }
    }
    if (body.contains("usage") && body["usage"].is_object()) completion_tokens += int_at(body["usage"], "completion_tokens");
    if (body.contains("timings") && body["timings"].is_object()) timings.push_back(body["timings"]);
  }
  merged["choices"] = std::move(choices);
  if (merged.contains("usage") && merged["usage"].is_object()) {
    json& usage = merged["usage"];  // the prompt once, as OpenAI counts it
    usage["completion_tokens"] = completion_tokens;
    usage["total_tokens"] = int_at(usage, "prompt_tokens") + completion_tokens;
  }
  if (timings.size() == static_cast<size_t>(n)) merged["timings"] = merged_timings(timings);
  return merged;
}

void submit_choices(server::Scheduler& scheduler, const server::GenerationJob& job, int32_t n,
                    std::shared_ptr<http::Responder> responder, const ChoiceSinkFactory& make_sink) {
  if (auto refused = too_many_choices(scheduler.status(), n)) return responder->send(http::error_response(*refused));
  auto merger = std::make_shared<ChoiceMerger>(responder, n);
  merger->watch_disconnect();
  for (int32_t i = 0; i < n; ++i) {
    server::GenerationJob choice = choice_job(job, i, n);
    auto choice_responder = std::make_shared<ChoiceResponder>(merger, i);
    merger->add_cancel([cancel = choice.cancel] { cancel->cancel(); });
    std::shared_ptr<server::GenerationSink> sink = make_sink(choice_responder);
    if (auto refused = scheduler.submit(std::move(choice), std::move(sink))) {
      // The ones submitted already are cancelled and answer nobody.
      return merger->fail(http::error_response(to_api_error(*refused)));
    }
  }
}

}  // namespace tandem::openai
