#include "tools/bench/html_report.h"

#include <cstdlib>
#include <filesystem>

#include "tools/bench/json_report.h"

#ifndef TANDEM_CHARTJS_DIR
#define TANDEM_CHARTJS_DIR "/usr/share/javascript/chart.js"
#endif

namespace tandem::bench {
namespace {

// Chart.js 4 ships chart.umd.js; Debian 12's 3.9 ships chart.min.js. Both define window.Chart.
constexpr const char* kChartJsNames[] = {"chart.umd.min.js", "chart.umd.js", "chart.min.js", "chart.js"};

// A "</script" inside the library would end the element early; "<\/script" means the same in JS.
std::string script_safe_js(std::string js) {
  for (size_t at = 0; (at = js.find("</", at)) != std::string::npos; at += 3) {
    if (js.compare(at + 2, 6, "script") == 0 || js.compare(at + 2, 6, "SCRIPT") == 0) js.replace(at, 2, "<\\/");
  }
  return js;
}

constexpr const char* kPageScript = R"JS(
const data = JSON.parse(document.getElementById('bench-data').textContent);
const levels = data.levels;
const labels = levels.map(l => String(l.concurrency));
const pick = (key, p) => levels.map(l => l[key][p]);
Chart.defaults.animation = false;  // drawn at once: a screenshot or print shows the final chart
Chart.defaults.responsive = false;
const axisTitle = text => ({display: true, text});
new Chart(document.getElementById('latency-chart'), {
  type: 'line',
  data: {labels, datasets: [
    {label: 'TTFT p50', data: pick('ttft_ms', 'p50'), borderColor: '#1f77b4', backgroundColor: '#1f77b4'},
    {label: 'TTFT p99', data: pick('ttft_ms', 'p99'), borderColor: '#1f77b4', borderDash: [6, 4], backgroundColor: '#1f77b4'},
    {label: 'E2E p50', data: pick('e2e_ms', 'p50'), borderColor: '#d62728', backgroundColor: '#d62728'},
    {label: 'E2E p99', data: pick('e2e_ms', 'p99'), borderColor: '#d62728', borderDash: [6, 4], backgroundColor: '#d62728'},
    {label: 'ITL p50', data: pick('itl_ms', 'p50'), borderColor: '#2ca02c', backgroundColor: '#2ca02c'},
    {label: 'ITL p99', data: pick('itl_ms', 'p99'), borderColor: '#2ca02c', borderDash: [6, 4], backgroundColor: '#2ca02c'},
  ]},
  options: {plugins: {title: {display: true, text: 'Latency against load'}},
            scales: {x: {title: axisTitle('concurrent requests')}, y: {title: axisTitle('ms'), beginAtZero: true}}},
});
new Chart(document.getElementById('throughput-chart'), {
  type: 'bar',
  data: {labels, datasets: [
    {label: 'requests/s', data: levels.map(l => l.req_per_s), backgroundColor: '#9467bd', yAxisID: 'req'},
    {label: 'output tokens/s', data: levels.map(l => l.output_tokens_per_s), backgroundColor: '#ff7f0e', yAxisID: 'tok'},
  ]},
  options: {plugins: {title: {display: true, text: 'Throughput against load'}},
            scales: {x: {title: axisTitle('concurrent requests')},
                     req: {position: 'left', beginAtZero: true, title: axisTitle('requests/s')},
                     tok: {position: 'right', beginAtZero: true, title: axisTitle('output tokens/s'),
                           grid: {drawOnChartArea: false}}}},
});
document.body.dataset.chartsReady = 'true';
)JS";

std::string cell(const std::optional<Percentiles>& p, double Percentiles::*field) {
  if (!p) return "<td>–</td>";
  char text[32];
  std::snprintf(text, sizeof text, "<td>%.1f</td>", (*p).*field);
  return text;
}

std::string table(const std::vector<LevelResult>& levels) {
  std::string out =
      "<table data-testid=\"levels\"><tr><th>concurrency</th><th>requests</th><th>errors</th><th>req/s</th>"
      "<th>output tok/s</th><th>TTFT p50</th><th>p95</th><th>p99</th><th>ITL p50</th><th>p95</th><th>p99</th>"
      "<th>E2E p50</th><th>p95</th><th>p99</th><th>goodput</th><th>errors by kind</th></tr>\n";
  for (const LevelResult& l : levels) {
    char head[256];
    std::snprintf(head, sizeof head, "<tr><td>%d</td><td>%lld</td><td>%lld</td><td>%.2f</td><td>%.1f</td>",
                  l.concurrency, static_cast<long long>(l.requests), static_cast<long long>(l.errors), l.req_per_s,
                  l.output_tokens_per_s);
    out += head;
    for (const auto* p : {&l.ttft_ms, &l.itl_ms, &l.e2e_ms}) {
      out += cell(*p, &Percentiles::p50) + cell(*p, &Percentiles::p95) + cell(*p, &Percentiles::p99);
    }
    std::string kinds;
    for (const auto& [kind, count] : l.errors_by_kind) {
      kinds += (kinds.empty() ? "" : ", ") + html_escape(kind) + " " + std::to_string(count);
    }
    char tail[64];
    std::snprintf(tail, sizeof tail, "<td>%.0f%%</td>", l.goodput * 100);
    out += tail + ("<td>" + kinds + "</td></tr>\n");
  }
  return out + "</table>\n";
}

}  // namespace

Result<std::string> find_chart_js() {
  if (const char* env = std::getenv("TANDEM_CHARTJS"); env && *env) {
    if (std::filesystem::is_regular_file(env)) return std::string(env);
    return make_error(std::string("TANDEM_CHARTJS names ") + env + ", which is not a file; point it at Chart.js's "
                      "chart.umd.js or chart.min.js, or unset it to use Debian's libjs-chart.js");
  }
  std::string looked;
  for (const char* name : kChartJsNames) {
    const std::string path = std::string(TANDEM_CHARTJS_DIR) + "/" + name;
    if (std::filesystem::is_regular_file(path)) return path;
    looked += (looked.empty() ? "" : ", ") + path;
  }
  return make_error("--html needs Chart.js to inline, and none of " + looked +
                    " exists; install Debian's libjs-chart.js (apt-get install libjs-chart.js; scripts/setup.sh "
                    "does it) or set TANDEM_CHARTJS to a chart.umd.js or chart.min.js");
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string script_safe_json(const std::string& json_text) {
  std::string out;
  for (const char c : json_text) {
    if (c == '<') {
      out += "\\u003c";  // only inside JSON strings can "<" appear, where \u003c means the same
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_html(const std::vector<LevelResult>& levels, const ReportMeta& meta, const std::string& chart_js) {
  const std::string title = "tandem bench: " + meta.url;
  char settings[256];
  std::snprintf(settings, sizeof settings, "%s, %d-token prompts, up to %d output tokens, %lld requests per level",
                meta.stream ? "streamed" : "not streamed", meta.prompt_tokens, meta.max_tokens,
                static_cast<long long>(meta.requests));
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(title) +
          "</title>\n<style>\n"
          "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
          "table{border-collapse:collapse;margin-top:1em}td,th{border:1px solid #ccc;padding:.3em .6em;"
          "text-align:right}th{background:#f4f4f4}canvas{display:block;margin:1em 0}\n"
          "</style>\n</head>\n<body>\n";
  page += "<h1>" + html_escape(title) + "</h1>\n<p>Model <b>" + html_escape(meta.model) + "</b>; " +
          html_escape(settings) + "; started " + html_escape(meta.started) +
          ". Latencies in milliseconds; requests/s and tokens/s count successful requests.</p>\n";
  page += "<canvas id=\"latency-chart\" data-testid=\"latency-chart\" width=\"900\" height=\"420\"></canvas>\n";
  page += "<canvas id=\"throughput-chart\" data-testid=\"throughput-chart\" width=\"900\" height=\"420\"></canvas>\n";
  page += table(levels);
  page += "<script id=\"bench-data\" type=\"application/json\">" + script_safe_json(report_json(levels).dump()) +
          "</script>\n";
  page += "<script>\n" + script_safe_js(chart_js) + "\n</script>\n";
  page += "<script>" + std::string(kPageScript) + "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace tandem::bench
