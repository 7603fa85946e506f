#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string_view>
#include <nlohmann/json.hpp>

#include "tandem/engine.h"
#include "model/model_config.h"

namespace tandem::eval {
namespace {

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// The gap between the largest and second largest values.
float top_two_gap(std::span<const float> v) {
  float first = -INFINITY;
  float second = -INFINITY;
  for (float x : v) {
    if (x > first) {
      second = first;
      first = x;
    } else if (x > second) {
      second = x;
    }
  }
  return first - second;
}

}  // namespace

Result<CompareResult> compare_models(Engine& base, Engine& candidate, const EvalChunks& chunks,
                                     const ChunkFn& on_chunk) {
  const int32_t n_vocab = base.config().n_vocab;
  if (candidate.config().n_vocab != n_vocab) {
    return make_error("the models do not share a vocabulary (" + std::to_string(n_vocab) + " vs " +
                      std::to_string(candidate.config().n_vocab) + " tokens): their predictions cannot be compared");
  }
  for (Engine* e : {&base, &candidate}) {
    if (e->n_ctx() < chunks.n_ctx) {
      return make_error("a model's context is " + std::to_string(e->n_ctx()) + " tokens, smaller than --ctx " +
                        std::to_string(chunks.n_ctx));
    }
  }
  CompareResult r;
  r.n_chunks = chunks.n_chunks;
  r.n_ctx = chunks.n_ctx;
  MeanAccumulator kl;
  MeanAccumulator agree;
  MeanAccumulator agree_decisive;
  MeanAccumulator nll_base;
  MeanAccumulator nll_cand;
  MeanAccumulator nll_diff;
  std::vector<double> kl_values;
  std::vector<double> lp_base;
  std::vector<double> lp_cand;
  for (int32_t c = 0; c < chunks.n_chunks; ++c) {
    const std::vector<int32_t> input = chunks.input(c);
    auto lb = base.evaluate(input);
    if (!lb) return Error{lb.error()};
    auto lc = candidate.evaluate(input);
    if (!lc) return Error{lc.error()};
    for (int32_t pos = chunks.first; pos < chunks.n_ctx - 1; ++pos) {
      const std::vector<float>& rb = (*lb)[static_cast<size_t>(pos)];
      const std::vector<float>& rc = (*lc)[static_cast<size_t>(pos)];
      log_softmax(rb, lp_base);
      log_softmax(rc, lp_cand);
      double d = 0.0;
      for (int32_t i = 0; i < n_vocab; ++i) d += std::exp(lp_base[i]) * (lp_base[i] - lp_cand[i]);
      d = std::max(d, 0.0);  // rounding can make an exact match a hair negative
      kl.add(d);
      kl_values.push_back(d);
      const double same = argmax(rb) == argmax(rc) ? 1.0 : 0.0;
      agree.add(same);
      if (top_two_gap(rb) >= kNearTieGap) agree_decisive.add(same);
      const int32_t target = chunks.target(c, pos);
      nll_base.add(-lp_base[static_cast<size_t>(target)]);
      nll_cand.add(-lp_cand[static_cast<size_t>(target)]);
      nll_diff.add(lp_base[static_cast<size_t>(target)] - lp_cand[static_cast<size_t>(target)]);
    }
    if (on_chunk) on_chunk(c + 1, chunks.n_chunks, std::exp(nll_cand.mean()));
  }
  r.n_scored = kl.count;
  r.kl_mean = kl.mean();
  r.kl_stderr = kl.standard_error();
  std::sort(kl_values.begin(), kl_values.end());
  if (!kl_values.empty()) {
    // Nearest-rank percentile.
    const size_t rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(kl_values.size())));
    r.kl_p99 = kl_values[std::min(kl_values.size() - 1, rank == 0 ? 0 : rank - 1)];
    r.kl_max = kl_values.back();
  }
  r.top1_agreement = agree.mean();
  r.top1_stderr = agree.standard_error();
  r.top1_agreement_decisive = agree_decisive.mean();
  r.n_decisive = agree_decisive.count;
  r.ppl_base = std::exp(nll_base.mean());
  r.ppl_candidate = std::exp(nll_cand.mean());
  r.ppl_ratio = std::exp(nll_diff.mean());
  r.ppl_ratio_stderr = r.ppl_ratio * nll_diff.standard_error();
  return r;
}

Result<std::vector<SideBySide>> answer_side_by_side(Engine& base, Engine& candidate,
                                                    const std::vector<std::string>& prompts, int32_t max_tokens) {
  auto answer = [&](Engine& e, const std::string& prompt) -> Result<GenerationResult> {
    nlohmann::json messages = nlohmann::json::array({{{"role", "user"}, {"content", prompt}}});
    auto rendered = e.apply_chat_template(messages.dump(), /*add_generation_prompt=*/true);
    GenerationRequest request;
    request.prompt_tokens = e.tokenize_prompt(rendered ? *rendered : prompt);
    request.sampling.temperature = 0.0f;
    request.sampling.seed = 0;
    request.max_tokens = max_tokens;
    return e.generate(request);
  };
  std::vector<SideBySide> out;
  for (const std::string& prompt : prompts) {
    auto a = answer(base, prompt);
    if (!a) return make_error("base model, prompt \"" + prompt + "\": " + a.error());
    auto b = answer(candidate, prompt);
    if (!b) return make_error("candidate model, prompt \"" + prompt + "\": " + b.error());
    SideBySide s{prompt, a->text, b->text, -1};
    const size_t n = std::min(a->tokens.size(), b->tokens.size());
    for (size_t i = 0; i < n && s.first_divergence < 0; ++i) {
      if (a->tokens[i] != b->tokens[i]) s.first_divergence = static_cast<int32_t>(i);
    }
    if (s.first_divergence < 0 && a->tokens.size() != b->tokens.size()) s.first_divergence = static_cast<int32_t>(n);
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Concatenation by appends: GCC 12 reports a false -Wrestrict on chains of literal + string.
void append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) out.append(p);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A Markdown table cell: HTML-escaped, pipes escaped, line breaks as <br>.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : html_escape(s)) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "<br>";
    } else if (c != '\r') {
      out += c;
    }
  }
  return out;
}

struct MetricRow {
  std::string name;
  std::string value;
};

std::vector<MetricRow> metric_rows(const CompareResult& m) {
  return {
      {"KL divergence, mean (nats)", format("%.6f", m.kl_mean) + " ± " + format("%.6f", m.kl_stderr)},
      {"KL divergence, p99 (nats)", format("%.6f", m.kl_p99)},
      {"KL divergence, max (nats)", format("%.6f", m.kl_max)},
      {"Top-1 agreement", format("%.2f%%", 100.0 * m.top1_agreement) + " ± " + format("%.2f%%", 100.0 * m.top1_stderr)},
      {"Top-1 agreement where the base is decisive (top-2 gap >= " + format("%.1f", kNearTieGap) + " nats)",
       format("%.2f%%", 100.0 * m.top1_agreement_decisive) + " of " + std::to_string(m.n_decisive) + " positions"},
      {"Perplexity, base", format("%.4f", m.ppl_base)},
      {"Perplexity, candidate", format("%.4f", m.ppl_candidate)},
      {"Perplexity ratio (candidate / base)", format("%.4f", m.ppl_ratio) + " ± " + format("%.4f", m.ppl_ratio_stderr)},
      {"File size, base", format("%.2f MiB", static_cast<double>(m.size_base) / (1024.0 * 1024.0))},
      {"File size, candidate", format("%.2f MiB", static_cast<double>(m.size_candidate) / (1024.0 * 1024.0))},
      {"Size ratio (candidate / base)", format("%.4f", m.size_ratio)},
      {"Scored tokens", std::to_string(m.n_scored) + " (" + std::to_string(m.n_chunks) + " chunks of " +
                            std::to_string(m.n_ctx) + ")"},
  };
}

std::string divergence_note(const SideBySide& s) {
  if (s.first_divergence < 0) return "identical answers";
  std::string note = "answers part at generated token ";
  note += std::to_string(s.first_divergence);
  return note;
}

}  // namespace

std::string render_markdown_report(const ReportHeader& h, const CompareResult& m,
                                   const std::vector<SideBySide>& answers) {
  std::string out = "# Tandem A/B comparison\n\n";
  append(out, {"- base: `", h.base_path, "`\n- candidate: `", h.candidate_path, "`\n- text: `", h.text_path, "`\n\n"});
  out += "| metric | value |\n|---|---|\n";
  for (const MetricRow& r : metric_rows(m)) append(out, {"| ", r.name, " | ", r.value, " |\n"});
  if (!answers.empty()) {
    out += "\n## Answers side by side (greedy)\n";
    for (size_t i = 0; i < answers.size(); ++i) {
      const SideBySide& s = answers[i];
      append(out, {"\n### ", std::to_string(i + 1), ". ", md_cell(s.prompt), "\n\n"});
      append(out, {"_", divergence_note(s), "_\n\n"});
      out += "| base | candidate |\n|---|---|\n";
      append(out, {"| ", md_cell(s.base_answer), " | ", md_cell(s.candidate_answer), " |\n"});
    }
  }
  return out;
}

std::string render_html_report(const ReportHeader& h, const CompareResult& m, const std::vector<SideBySide>& answers) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<title>Tandem A/B comparison</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.4em .7em;text-align:left}\n"
      ".pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}\n"
      ".pair pre{white-space:pre-wrap;background:#f6f6f6;padding:.8em;border-radius:6px;margin:0}\n"
      ".same{color:#2a7a2a}.differs{color:#a05a00}code{background:#f0f0f0;padding:0 .3em}\n"
      "</style></head><body>\n<h1>Tandem A/B comparison</h1>\n<ul>\n";
  append(out, {"<li>base: <code>", html_escape(h.base_path), "</code></li>\n"});
  append(out, {"<li>candidate: <code>", html_escape(h.candidate_path), "</code></li>\n"});
  append(out, {"<li>text: <code>", html_escape(h.text_path), "</code></li>\n</ul>\n"});
  out += "<table><tr><th>metric</th><th>value</th></tr>\n";
  for (const MetricRow& r : metric_rows(m)) {
    append(out, {"<tr><td>", html_escape(r.name), "</td><td>", html_escape(r.value), "</td></tr>\n"});
  }
  out += "</table>\n";
  if (!answers.empty()) {
    out += "<h2>Answers side by side (greedy)</h2>\n";
    for (size_t i = 0; i < answers.size(); ++i) {
      const SideBySide& s = answers[i];
      append(out, {"<h3>", std::to_string(i + 1), ". ", html_escape(s.prompt), "</h3>\n"});
      append(out, {"<p class=\"", s.first_divergence < 0 ? "same" : "differs", "\">", html_escape(divergence_note(s)),
                   "</p>\n"});
      append(out, {"<div class=\"pair\"><div><h4>base</h4><pre>", html_escape(s.base_answer),
                   "</pre></div><div><h4>candidate</h4><pre>", html_escape(s.candidate_answer), "</pre></div></div>\n"});
    }
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace tandem::eval
