#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace tandem::metrics {
namespace {

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h({0.1, 1.0});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(0.5);
  h.observe(5.0);
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{1, 3, 4}));
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.sum, 6.05);
}

TEST(Metrics, PrometheusTextHasEveryFamily) {
  ServerMetrics m;
  m.record_response("/v1/chat/completions", 200);
  m.record_response("/v1/chat/completions", 200);
  m.record_response("", 404);
  m.queue_depth.set(3);
  m.prompt_tokens.add(12);
  m.time_to_first_token.observe(0.2);
  const std::string text = m.render_prometheus();
  EXPECT_NE(text.find("tandem_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2"), std::string::npos);
  EXPECT_NE(text.find("tandem_http_requests_total{route=\"other\",status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_queue_depth 3"), std::string::npos);
  EXPECT_NE(text.find("tandem_prompt_tokens_total 12"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tandem_time_to_first_token_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("tandem_time_to_first_token_seconds_bucket{le=\"0.25\"} 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_time_to_first_token_seconds_count 1"), std::string::npos);
  EXPECT_NE(text.find("tandem_inter_token_latency_seconds_bucket{le=\"+Inf\"} 0"), std::string::npos);
  EXPECT_NE(text.find("tandem_request_duration_seconds_sum"), std::string::npos);
  EXPECT_NE(text.find("tandem_process_resident_memory_bytes"), std::string::npos);
  EXPECT_GT(process_resident_bytes(), 0u);
}

}  // namespace
}  // namespace tandem::metrics
