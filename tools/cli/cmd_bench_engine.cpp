// `tandem bench-engine -m MODEL [-t THREADS] [-p 512] [-n 128] [-B 16] [--json]`: the engine's
// speed, measured like llama-bench: prompt processing of p tokens in one batch (pp), generation
// of n tokens one at a time from an empty context (tg), and optionally batched decoding of B
// sequences at once (the server's continuous batching). Also measures the memory read bandwidth
// and reports which fraction of it batch-1 generation reaches.
//
// A benchmarking tool, so it drives the model layer (forward pass, KV cache) directly rather
// than the Engine API, which only runs one sequence.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <vector>

#include "command_registry.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/memory_bandwidth.h"
#include "model/forward.h"

namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model_path;
  int32_t n_threads = 0;
  int32_t n_prompt = 512;
  int32_t n_gen = 128;
  int32_t n_parallel = 0;      // sequences decoded together; 0 skips the batched test
  int32_t n_parallel_gen = 32;  // steps of the batched test
  int32_t repetitions = 3;
  bool json = false;
  bool skip_bandwidth = false;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::vector<int32_t> random_tokens(int32_t n, int32_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(0, n_vocab - 1);
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int32_t& t : tokens) t = pick(rng);
  return tokens;
}

size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss) * 1024;
}

void run_bench(const BenchOptions& opt) {
  auto loaded = tandem::Model::load(opt.model_path);
  if (!loaded) {
    std::fprintf(stderr, "error: %s\n", loaded.error().c_str());
    throw tandem::cli::ExitCode{1};
  }
  const tandem::Model& model = **loaded;
  const tandem::ModelConfig& c = model.config();
  const int32_t n_ctx = std::max(opt.n_prompt, opt.n_gen) + 16;
  const int32_t max_tokens = std::max({opt.n_prompt, opt.n_parallel, 1});
  // The single-sequence tests' buffers and cache go before the batched test sets up its own, as
  // one server holds one of each: otherwise the peak RSS counts both.
  std::optional<tandem::ForwardState> state(std::in_place, c, max_tokens, n_ctx, opt.n_threads);
  std::optional<tandem::KvCache> kv(std::in_place, c.n_layer, n_ctx, c.kv_dim(), 1, tandem::recurrent_shape(c));
  const int n_threads = state->n_threads();
  const int reps = std::max(1, opt.repetitions);

  // Prompt processing: one batch of n_prompt tokens into an empty cache, best of reps after a
  // warm-up that also faults the weights in.
  double pp_best = 0.0;
  if (opt.n_prompt > 0) {
    const std::vector<int32_t> prompt = random_tokens(opt.n_prompt, c.n_vocab, 1);
    for (int r = 0; r <= reps; ++r) {
      kv->clear(0);
      const auto start = Clock::now();
      tandem::forward(model, *kv, 0, prompt, *state, false);
      const double tps = opt.n_prompt / seconds_since(start);
      if (r > 0) pp_best = std::max(pp_best, tps);
    }
  }
  // Generation: n_gen tokens one by one from an empty cache (as llama-bench's tg test).
  double tg_best = 0.0;
  if (opt.n_gen > 0) {
    const std::vector<int32_t> tokens = random_tokens(opt.n_gen, c.n_vocab, 2);
    for (int r = 0; r <= reps; ++r) {
      kv->clear(0);
      const auto start = Clock::now();
      for (int32_t i = 0; i < opt.n_gen; ++i) {
        tandem::forward(model, *kv, 0, std::span<const int32_t>(&tokens[static_cast<size_t>(i)], 1), *state, false);
      }
      const double tps = opt.n_gen / seconds_since(start);
      if (r > 0 || reps == 1) tg_best = std::max(tg_best, tps);
    }
  }
  // Batched decoding: n_parallel sequences, each after a short prompt, one token each per step.
  double batched_best = 0.0;
  size_t kv_bytes = kv->bytes();
  state.reset();
  kv.reset();
  if (opt.n_parallel > 0) {
    const int32_t prompt_len = 16;
    const int32_t ctx = prompt_len + opt.n_parallel_gen + 1;
    tandem::KvCache bkv(c.n_layer, ctx, c.kv_dim(), opt.n_parallel, tandem::recurrent_shape(c));
    tandem::ForwardState bstate(c, std::max(prompt_len, opt.n_parallel), ctx, opt.n_threads);
    kv_bytes = std::max(kv_bytes, bkv.bytes());
    const std::vector<int32_t> tokens = random_tokens(prompt_len + opt.n_parallel_gen, c.n_vocab, 3);
    std::vector<tandem::SequenceTokens> step(static_cast<size_t>(opt.n_parallel));
    for (int r = 0; r < std::min(reps, 2); ++r) {
      for (int32_t s = 0; s < opt.n_parallel; ++s) {
        bkv.clear(s);
        tandem::forward(model, bkv, s, std::span(tokens).first(prompt_len), bstate, false);
      }
      const auto start = Clock::now();
      for (int32_t i = 0; i < opt.n_parallel_gen; ++i) {
        for (int32_t s = 0; s < opt.n_parallel; ++s) {
          step[static_cast<size_t>(s)] = {s, std::span(tokens).subspan(static_cast<size_t>(prompt_len + i), 1)};
        }
        tandem::forward_batch(model, bkv, step, bstate, false);
      }
      batched_best = std::max(batched_best, static_cast<double>(opt.n_parallel) * opt.n_parallel_gen / seconds_since(start));
    }
  }

  // Before the bandwidth test, whose 1 GiB buffer is not the engine's.
  const size_t peak_rss = peak_rss_bytes();
  double bandwidth = 0.0;
  if (!opt.skip_bandwidth) {
    tandem::cpu::ThreadPool pool(n_threads);
    bandwidth = tandem::cpu::measure_read_bandwidth(pool);
  }
  const double weight_bytes = static_cast<double>(model.weight_bytes());
  const double fraction = bandwidth > 0 ? weight_bytes * tg_best / bandwidth : 0.0;
  const std::string isa = tandem::cpu::isa_level_name(tandem::cpu::active_isa_level());

  if (opt.json) {
    nlohmann::json out = {{"model", opt.model_path},
                          {"model_name", c.name},
                          {"threads", n_threads},
                          {"isa", isa},
                          {"pp_tokens", opt.n_prompt},
                          {"tg_tokens", opt.n_gen},
                          {"pp_tokens_per_s", pp_best},
                          {"tg_tokens_per_s", tg_best},
                          {"batched_sequences", opt.n_parallel},
                          {"batched_tokens_per_s", batched_best},
                          {"weight_bytes_per_token", weight_bytes},
                          {"bandwidth_bytes_per_s", bandwidth},
                          {"bandwidth_gb_per_s", bandwidth / 1e9},
                          {"tg_bandwidth_fraction", fraction},
                          {"file_bytes", model.file().file_size()},
                          {"kv_cache_bytes", kv_bytes},
                          {"peak_rss_bytes", peak_rss}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("model: %s (%s)\nthreads: %d, kernels: %s (cpu: %s)\n", opt.model_path.c_str(), c.name.c_str(),
              n_threads, isa.c_str(), tandem::cpu::cpu_features_string().c_str());
  if (opt.n_prompt > 0) std::printf("pp%-5d %10.2f tokens/s\n", opt.n_prompt, pp_best);
  if (opt.n_gen > 0) std::printf("tg%-5d %10.2f tokens/s\n", opt.n_gen, tg_best);
  if (opt.n_parallel > 0) {
    std::printf("batched decode, %d sequences: %10.2f tokens/s aggregate\n", opt.n_parallel, batched_best);
  }
  if (bandwidth > 0) {
    std::printf("memory read bandwidth: %.2f GB/s; weights per token: %.1f MB; tg reaches %.1f%% of it\n",
                bandwidth / 1e9, weight_bytes / 1e6, 100.0 * fraction);
  }
  std::printf("peak RSS: %.1f MB (file %.1f MB, KV cache %.1f MB)\n", static_cast<double>(peak_rss) / 1e6,
              static_cast<double>(model.file().file_size()) / 1e6, static_cast<double>(kv_bytes) / 1e6);
}

void add_bench_engine(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench-engine", "Measure prompt-processing and generation speed (like llama-bench)");
  auto opt = std::make_shared<BenchOptions>();
  cmd->add_option("-m,--model", opt->model_path, "GGUF model file")->required();
  cmd->add_option("-t,--threads", opt->n_threads, "Threads; 0 = all cores")->capture_default_str();
  cmd->add_option("-p,--n-prompt", opt->n_prompt, "Prompt tokens (pp test); 0 skips")->capture_default_str();
  cmd->add_option("-n,--n-gen", opt->n_gen, "Generated tokens (tg test); 0 skips")->capture_default_str();
  cmd->add_option("-B,--parallel", opt->n_parallel, "Sequences for the batched decode test; 0 skips")
      ->capture_default_str();
  cmd->add_option("--parallel-gen", opt->n_parallel_gen, "Decode steps of the batched test")->capture_default_str();
  cmd->add_option("-r,--repetitions", opt->repetitions, "Timed runs per test (best is reported)")
      ->capture_default_str();
  cmd->add_flag("--json", opt->json, "Print one JSON object");
  cmd->add_flag("--no-bandwidth", opt->skip_bandwidth, "Skip the memory bandwidth measurement");
  cmd->callback([opt] { run_bench(*opt); });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_bench_engine);
