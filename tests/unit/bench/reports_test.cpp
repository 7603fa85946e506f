#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "tools/bench/html_report.h"
#include "tools/bench/json_report.h"
#include "tools/bench/level_stats.h"
#include "tools/bench/progress_bar.h"
#include "tools/bench/prompt_source.h"

namespace tandem::bench {
namespace {

RequestRecord ok(double ttft, double e2e, std::vector<double> itl, int64_t tokens) {
  RequestRecord r;
  r.ok = true;
  r.ttft_ms = ttft;
  r.e2e_ms = e2e;
  r.itl_ms = std::move(itl);
  r.output_tokens = tokens;
  return r;
}

RequestRecord failed(const std::string& kind) {
  RequestRecord r;
  r.error_kind = kind;
  return r;
}

std::vector<RequestRecord> sample() {
  return {ok(100, 400, {10, 20}, 3), ok(300, 900, {30, 40}, 3), failed("connect"), failed("connect"),
          failed("http_503")};
}

TEST(LevelStats, CountsAddUpAndRatesUseSuccesses) {
  const LevelResult l = summarize_level(4, sample(), 2.0, {});
  EXPECT_EQ(l.requests, 5);
  EXPECT_EQ(l.successes + l.errors, l.requests);
  EXPECT_EQ(l.errors, 3);
  EXPECT_EQ(l.errors_by_kind.at("connect"), 2);
  EXPECT_EQ(l.errors_by_kind.at("http_503"), 1);
  EXPECT_DOUBLE_EQ(l.req_per_s, 1.0);
  EXPECT_DOUBLE_EQ(l.output_tokens_per_s, 3.0);
  ASSERT_TRUE(l.ttft_ms && l.itl_ms && l.e2e_ms);
  EXPECT_DOUBLE_EQ(l.ttft_ms->p50, 200);
  EXPECT_DOUBLE_EQ(l.itl_ms->p50, 25);
  EXPECT_DOUBLE_EQ(l.goodput, 0.4);  // no SLO: the successes' share of all requests
}

TEST(LevelStats, GoodputAgainstSlos) {
  Slo slo;
  slo.ttft_ms = 200;
  EXPECT_DOUBLE_EQ(summarize_level(1, sample(), 1, slo).goodput, 0.2);
  slo = {};
  slo.itl_ms = 20;  // means 15 and 35
  EXPECT_DOUBLE_EQ(summarize_level(1, sample(), 1, slo).goodput, 0.2);
  slo = {};
  slo.e2e_ms = 1000;
  EXPECT_DOUBLE_EQ(summarize_level(1, sample(), 1, slo).goodput, 0.4);
}

TEST(LevelStats, AllFailedHasNoPercentiles) {
  const LevelResult l = summarize_level(1, {failed("timeout")}, 1, {});
  EXPECT_FALSE(l.ttft_ms);
  EXPECT_EQ(l.goodput, 0);
}

TEST(JsonReport, HasTheIssuesShape) {
  const auto j = report_json({summarize_level(4, sample(), 2.0, {}), summarize_level(1, {failed("closed")}, 1, {})});
  ASSERT_EQ(j["levels"].size(), 2u);
  const auto& l = j["levels"][0];
  for (const char* key : {"concurrency", "requests", "errors", "req_per_s", "output_tokens_per_s", "ttft_ms", "itl_ms",
                          "e2e_ms", "goodput", "errors_by_kind"}) {
    EXPECT_TRUE(l.contains(key)) << key;
  }
  for (const char* key : {"ttft_ms", "itl_ms", "e2e_ms"}) {
    for (const char* p : {"p50", "p95", "p99"}) EXPECT_TRUE(l[key][p].is_number()) << key << p;
  }
  EXPECT_EQ(l["errors"], 3);
  EXPECT_EQ(l["errors_by_kind"]["connect"], 2);
  EXPECT_TRUE(j["levels"][1]["ttft_ms"]["p50"].is_null());
}

TEST(HtmlReport, InlinesTheLibraryAndCannotBeBrokenOutOf) {
  ReportMeta meta;
  meta.url = "http://h:1/<script>";
  meta.model = "</script><b>x";
  LevelResult l = summarize_level(1, sample(), 1, {});
  l.errors_by_kind["</script>"] = 1;
  const std::string page = render_html({l}, meta, "window.Chart = function(){}; var s = '</script>';");
  EXPECT_NE(page.find("window.Chart = function(){}"), std::string::npos);
  EXPECT_NE(page.find("<\\/script>'"), std::string::npos);
  EXPECT_EQ(page.find("</script><b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;/script&gt;&lt;b&gt;x"), std::string::npos);
  EXPECT_NE(page.find("id=\"latency-chart\""), std::string::npos);
  EXPECT_NE(page.find("id=\"throughput-chart\""), std::string::npos);
  EXPECT_EQ(page.find("http://cdn"), std::string::npos);
  EXPECT_EQ(script_safe_json(R"({"k":"</script>"})"), R"({"k":"\u003c/script>"})");
}

TEST(HtmlReport, MissingChartJsSaysHowToGetIt) {
  setenv("TANDEM_CHARTJS", "/nonexistent/chart.js", 1);
  const auto found = find_chart_js();
  unsetenv("TANDEM_CHARTJS");
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().find("TANDEM_CHARTJS"), std::string::npos);
}

TEST(ProgressBar, LineShowsShareAndErrors) {
  const std::string line = progress_line(16, {5, 1, 10, 2.5}, 10);
  EXPECT_EQ(line, "c=16  [#####.....]  5/10  errors 1  2.5 s");
}

TEST(PromptSource, PromptsHaveTheLengthAndDiffer) {
  PromptSource p;
  const std::string a = p.prompt(50, 0);
  const std::string b = p.prompt(50, 1);
  EXPECT_EQ(std::count(a.begin(), a.end(), ' '), 49);
  EXPECT_NE(a, b);
  const std::string long_prompt = p.prompt(1000, 3);  // longer than the text: wraps around
  EXPECT_EQ(std::count(long_prompt.begin(), long_prompt.end(), ' '), 999);
  EXPECT_FALSE(PromptSource::from_text(" \n ", "empty.txt"));
  const auto f = PromptSource::from_text("one two", "f");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->prompt(3, 0), "one two one");
}

}  // namespace
}  // namespace tandem::bench
