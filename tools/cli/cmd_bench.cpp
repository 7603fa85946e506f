// `tandem bench --url URL --concurrency 1,4,16 --requests N --max-tokens T [--stream] ...`: a load
// generator for any OpenAI-compatible server (Tandem's backend or gateway, llama-server, vLLM),
// like vLLM's `bench serve`. Per concurrency level: requests/s, output tokens/s, TTFT, ITL and E2E
// at p50/p95/p99, errors by kind and goodput against the SLOs; --json and --html write reports.
// Exit status 0 when every level ran (its errors are in the report), 1 when it could not run.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>

#include "cli_support.h"
#include "command_registry.h"
#include "tools/bench/html_report.h"
#include "tools/bench/json_report.h"
#include "tools/bench/level_stats.h"
#include "tools/bench/load_generator.h"
#include "tools/bench/model_discovery.h"
#include "tools/bench/progress_bar.h"

namespace {

namespace bench = tandem::bench;

struct BenchOptions {
  std::string url;
  std::string api_key;
  std::string model;
  std::vector<int> concurrency{1};
  int64_t requests = 32;
  int max_tokens = 64;
  int prompt_tokens = 32;
  std::string prompt_file;
  bool stream = false;
  double slo_ttft_ms = 0;
  double slo_itl_ms = 0;
  double slo_e2e_ms = 0;
  std::string json_file;
  std::string html_file;
  std::string extra_body;
  std::string endpoint = "/v1/chat/completions";
  double timeout_s = 300;
};

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "tandem bench: %s\n", message.c_str());
  throw tandem::cli::ExitCode{1};
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Opens (truncates) an output file before the run, so a bad path fails in a second, not after it.
std::unique_ptr<std::ofstream> open_output(const std::string& path, const char* flag) {
  if (path.empty() || path == "-") return nullptr;
  auto out = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*out) fail(std::string("cannot write ") + flag + " " + path + "; check that its folder exists and is writable");
  return out;
}

void print_summary(const std::vector<bench::LevelResult>& levels, std::FILE* out) {
  std::fprintf(out, "%6s %8s %6s %8s %10s %26s %26s %26s %8s\n", "conc", "requests", "errors", "req/s", "out tok/s",
               "TTFT ms p50/p95/p99", "ITL ms p50/p95/p99", "E2E ms p50/p95/p99", "goodput");
  const auto triple = [](const std::optional<bench::Percentiles>& p) {
    char text[64];
    if (!p) return std::string("-");
    std::snprintf(text, sizeof text, "%.1f/%.1f/%.1f", p->p50, p->p95, p->p99);
    return std::string(text);
  };
  for (const auto& l : levels) {
    std::fprintf(out, "%6d %8lld %6lld %8.2f %10.1f %26s %26s %26s %7.0f%%\n", l.concurrency,
                 static_cast<long long>(l.requests), static_cast<long long>(l.errors), l.req_per_s,
                 l.output_tokens_per_s, triple(l.ttft_ms).c_str(), triple(l.itl_ms).c_str(), triple(l.e2e_ms).c_str(),
                 l.goodput * 100);
    for (const auto& [kind, count] : l.errors_by_kind) {
      std::fprintf(out, "%6s errors: %s %lld (first: %s)\n", "", kind.c_str(), static_cast<long long>(count),
                   l.first_error.at(kind).c_str());
    }
  }
}

void run_bench(const BenchOptions& o) {
  auto target = bench::parse_target_url(o.url);
  if (!target) fail(target.error());
  for (const int c : o.concurrency) {
    if (c < 1 || c > 4096) fail("--concurrency " + std::to_string(c) + " is out of range; give levels from 1 to 4096");
  }
  if (o.requests < 1 || o.requests > 1'000'000) fail("--requests must be from 1 to 1000000");
  if (o.max_tokens < 1) fail("--max-tokens must be at least 1");
  if (o.prompt_tokens < 1 || o.prompt_tokens > 1'000'000) fail("--prompt-tokens must be from 1 to 1000000");
  if (o.timeout_s <= 0) fail("--timeout must be more than 0 seconds");

  bench::RequestSpec spec;
  if (o.endpoint == "/v1/completions" || o.endpoint == "completions") {
    spec.endpoint = bench::Endpoint::kCompletions;
  } else if (o.endpoint != "/v1/chat/completions" && o.endpoint != "chat") {
    fail("--endpoint \"" + o.endpoint + "\" is not one the bench drives; give /v1/chat/completions or /v1/completions");
  }
  spec.api_key = o.api_key;
  spec.max_tokens = o.max_tokens;
  spec.stream = o.stream;
  spec.timeout_s = o.timeout_s;
  if (!o.extra_body.empty()) {
    spec.extra_body = nlohmann::json::parse(o.extra_body, nullptr, false);
    if (!spec.extra_body.is_object()) fail("--extra-body must be a JSON object, like '{\"temperature\": 0}'");
  }
  bench::PromptSource prompts;
  if (!o.prompt_file.empty()) {
    auto loaded = bench::PromptSource::from_text(
        tandem::cli::read_file_or_exit(o.prompt_file, "the prompt file"), o.prompt_file);
    if (!loaded) fail(loaded.error());
    prompts = std::move(loaded).value();
  }
  std::string chart_js;
  if (!o.html_file.empty()) {
    auto path = bench::find_chart_js();
    if (!path) fail(path.error());
    chart_js = tandem::cli::read_file_or_exit(*path, "Chart.js");
  }
  auto json_out = open_output(o.json_file, "--json");
  auto html_out = open_output(o.html_file, "--html");

  spec.model = o.model;
  if (spec.model.empty()) {
    auto model = bench::first_model_id(*target, o.api_key, std::min(o.timeout_s, 30.0));
    if (!model) fail(model.error());
    spec.model = *model;
  }
  bench::Slo slo;
  if (o.slo_ttft_ms > 0) slo.ttft_ms = o.slo_ttft_ms;
  if (o.slo_itl_ms > 0) slo.itl_ms = o.slo_itl_ms;
  if (o.slo_e2e_ms > 0) slo.e2e_ms = o.slo_e2e_ms;

  bench::ReportMeta meta{o.url, spec.model, o.stream, o.max_tokens, o.prompt_tokens, o.requests, utc_now()};
  std::fprintf(stderr, "tandem bench: %s, model %s, %s, %lld requests per level\n", o.url.c_str(), spec.model.c_str(),
               o.stream ? "streaming" : "not streaming", static_cast<long long>(o.requests));
  const bench::LoadPlan plan{*target, spec, &prompts, o.prompt_tokens};
  bench::ProgressBar bar(stderr, isatty(STDERR_FILENO) != 0);
  std::vector<bench::LevelResult> levels;
  for (const int c : o.concurrency) {
    const auto run = bench::run_level(plan, c, o.requests, [&](const bench::LevelProgress& p) { bar.update(c, p); });
    bench::LevelProgress last{o.requests, 0, o.requests, run.duration_s};
    for (const auto& r : run.records) last.errors += r.ok ? 0 : 1;
    bar.finish(c, last);
    levels.push_back(bench::summarize_level(c, run.records, run.duration_s, slo));
  }

  const std::string json_text = bench::report_json(levels).dump(2) + "\n";
  if (o.json_file == "-") {
    std::fputs(json_text.c_str(), stdout);
  } else {
    print_summary(levels, stdout);
  }
  if (json_out) {
    *json_out << json_text;
    if (!json_out->flush()) fail("writing " + o.json_file + " failed");
  }
  if (html_out) {
    *html_out << bench::render_html(levels, meta, chart_js);
    if (!html_out->flush()) fail("writing " + o.html_file + " failed");
  }
}

void add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Load-test an OpenAI-compatible server: latency and throughput per concurrency level");
  auto o = std::make_shared<BenchOptions>();
  cmd->add_option("--url", o->url, "The server's base URL, http://HOST:PORT")->required();
  cmd->add_option("--api-key", o->api_key, "Sent as Authorization: Bearer");
  cmd->add_option("--model", o->model, "The model to ask for; default: the first of GET /v1/models");
  cmd->add_option("--concurrency", o->concurrency, "Concurrency levels, comma-separated (requests in flight)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--requests", o->requests, "Requests per level")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "max_tokens of each request")->capture_default_str();
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "Prompt length, in words (about one token each)")
      ->capture_default_str();
  cmd->add_option("--prompt-file", o->prompt_file, "Cut prompts from this text instead of the built-in one");
  cmd->add_flag("--stream", o->stream, "Stream the responses (needed for TTFT and ITL to mean what they say)");
  cmd->add_option("--slo-ttft-ms", o->slo_ttft_ms, "Goodput objective: time to first token, ms");
  cmd->add_option("--slo-itl-ms", o->slo_itl_ms, "Goodput objective: a request's mean inter-token latency, ms");
  cmd->add_option("--slo-e2e-ms", o->slo_e2e_ms, "Goodput objective: end-to-end latency, ms");
  cmd->add_option("--json", o->json_file, "Write the results as JSON to this file (- for stdout)");
  cmd->add_option("--html", o->html_file, "Write a self-contained HTML report with charts to this file");
  cmd->add_option("--endpoint", o->endpoint,
                  "/v1/chat/completions, or /v1/completions for a model without a chat template")
      ->capture_default_str();
  cmd->add_option("--extra-body", o->extra_body, "A JSON object merged into every request body");
  cmd->add_option("--timeout", o->timeout_s, "Seconds one request may take before it counts as a timeout")
      ->capture_default_str();
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_bench);
