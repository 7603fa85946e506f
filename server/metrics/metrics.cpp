#include "metrics/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace tandem::metrics {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

void write_histogram(std::ostringstream& out, std::string_view name, std::string_view help, const Histogram& h) {
  const Histogram::Snapshot s = h.snapshot();
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    out << name << "_bucket{le=\"" << number(s.bounds[i]) << "\"} " << s.cumulative[i] << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << s.cumulative.back() << "\n";
  out << name << "_sum " << number(s.sum) << "\n" << name << "_count " << s.count << "\n";
}

void write_scalar(std::ostringstream& out, std::string_view name, std::string_view type, std::string_view help,
                  double value) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << number(value) << "\n";
}

// Label values may hold a client's path; escape what the text format requires.
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard lock(mutex_);
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

ServerMetrics::ServerMetrics()
    : time_to_first_token({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      inter_token_latency({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}),
      request_duration({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}) {}

void ServerMetrics::record_response(std::string_view route, int status) {
  std::lock_guard lock(mutex_);
  ++responses_[{route.empty() ? std::string("other") : std::string(route), status}];
}

std::string ServerMetrics::render_prometheus() const {
  std::ostringstream out;
  out << "# HELP tandem_http_requests_total HTTP requests answered, by route and status code\n"
         "# TYPE tandem_http_requests_total counter\n";
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : responses_) {
      out << "tandem_http_requests_total{route=\"" << escape_label(key.first) << "\",status=\"" << key.second
          << "\"} " << count << "\n";
    }
  }
  write_scalar(out, "tandem_queue_depth", "gauge", "Generation requests waiting for the model",
               static_cast<double>(queue_depth.value()));
  write_scalar(out, "tandem_running_sequences", "gauge", "Sequences being generated",
               static_cast<double>(running.value()));
  write_scalar(out, "tandem_model_loaded", "gauge", "1 when a model is loaded and serving",
               static_cast<double>(model_loaded.value()));
  // Absent (not zero) without a model: there is no cache to be full or empty.
  if (const int64_t capacity = kv_cache_capacity_cells.value(); capacity > 0) {
    const auto used = static_cast<double>(kv_cache_used_cells.value());
    write_scalar(out, "tandem_kv_cache_used_cells", "gauge", "KV cache positions held by running sequences", used);
    write_scalar(out, "tandem_kv_cache_capacity_cells", "gauge",
                 "KV cache positions of the loaded model (sequence slots times context)", static_cast<double>(capacity));
    write_scalar(out, "tandem_kv_cache_usage_ratio", "gauge", "Share of the KV cache held by running sequences",
                 used / static_cast<double>(capacity));
  }
  write_scalar(out, "tandem_prompt_tokens_total", "counter", "Prompt tokens processed",
               static_cast<double>(prompt_tokens.value()));
  write_scalar(out, "tandem_prompt_tokens_reused_total", "counter",
               "Prompt tokens served from the prefix cache instead of being recomputed",
               static_cast<double>(prompt_tokens_reused.value()));
  write_scalar(out, "tandem_generated_tokens_total", "counter", "Tokens generated",
               static_cast<double>(generated_tokens.value()));
  write_scalar(out, "tandem_rejected_requests_total", "counter", "Requests refused with 429 because the queue was full",
               static_cast<double>(rejected_queue_full.value()));
  write_scalar(out, "tandem_cancelled_requests_total", "counter", "Generations cancelled because the client left",
               static_cast<double>(cancelled.value()));
  write_histogram(out, "tandem_time_to_first_token_seconds", "Time from request to first generated text",
                  time_to_first_token);
  write_histogram(out, "tandem_inter_token_latency_seconds", "Time between streamed pieces of text",
                  inter_token_latency);
  write_histogram(out, "tandem_request_duration_seconds", "Time from request to the end of its generation",
                  request_duration);
  write_scalar(out, "tandem_process_resident_memory_bytes", "gauge", "Resident memory of the server process",
               static_cast<double>(process_resident_bytes()));
  if (extra_renderer_) out << extra_renderer_();
  return out.str();
}

uint64_t process_resident_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (!(in >> size_pages >> resident_pages)) return 0;
  const long page = sysconf(_SC_PAGESIZE);
  return resident_pages * static_cast<uint64_t>(page > 0 ? page : 4096);
}

}  // namespace tandem::metrics
