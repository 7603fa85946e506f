// llama.cpp's answer for tests/data/arch/: the top logits at every position of a few random token
// sequences, in the JSON shape of `tandem eval logits --json`, so Tandem's tests read both alike.
//
// Built against an external llama.cpp (never part of this repository) by make_arch_references.sh:
//   llama_logits MODEL.gguf --lengths 8,32,64 --seed 42 --top 10 > MODEL.logits.json
//
// How it runs: CPU backend only, one thread, flash attention off (the path NUMERICS.md compares
// with), default F16 KV cache (as Tandem's), all logits in F32; each sequence in a fresh context as
// one batch (n_batch = n_ubatch = its length), so a prompt pass as `tandem eval logits` does it.
// Sequence k's ids: std::mt19937(seed + k), uniform in [0, n_vocab), written into the file.
//
// Output: {"generator", "model", "seed", "sequences": [{"n_vocab", "ids", "positions":
// [{"argmax", "top": [[id, logit], ...]}]}]}; ties in ascending id order; logits with 9
// significant digits (a float round-trips exactly).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"

namespace {

struct Options {
  std::string model;
  std::vector<int> lengths{8, 32, 64};
  unsigned seed = 42;
  int top = 10;
};

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "llama_logits: %s\n", message.c_str());
  std::exit(1);
}

std::vector<int> parse_list(const char* text) {
  std::vector<int> out;
  for (const char* p = text; *p;) {
    char* end = nullptr;
    const long v = std::strtol(p, &end, 10);
    if (end == p || v <= 0) die(std::string("bad --lengths: ") + text);
    out.push_back(static_cast<int>(v));
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') die(std::string("bad --lengths: ") + text);
  }
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--lengths" && has_value) {
      o.lengths = parse_list(argv[++i]);
    } else if (a == "--seed" && has_value) {
      o.seed = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--top" && has_value) {
      o.top = std::atoi(argv[++i]);
    } else if (a[0] != '-' && o.model.empty()) {
      o.model = a;
    } else {
      die("usage: llama_logits MODEL.gguf [--lengths 8,32,64] [--seed 42] [--top 10]");
    }
  }
  if (o.model.empty() || o.top < 1) die("usage: llama_logits MODEL.gguf [--lengths 8,32,64] [--seed 42] [--top 10]");
  return o;
}

// One sequence through a fresh context; returns n_tokens rows of n_vocab logits.
std::vector<std::vector<float>> run(llama_model* model, const std::vector<llama_token>& ids, int n_vocab) {
  llama_context_params cp = llama_context_default_params();
  const auto n = static_cast<uint32_t>(ids.size());
  cp.n_ctx = std::max<uint32_t>(n, 16);
  cp.n_batch = n;
  cp.n_ubatch = n;
  cp.n_seq_max = 1;
  cp.n_threads = 1;
  cp.n_threads_batch = 1;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) die("cannot create a context");
  llama_batch batch = llama_batch_init(static_cast<int32_t>(n), 0, 1);
  for (uint32_t i = 0; i < n; ++i) {
    batch.token[i] = ids[i];
    batch.pos[i] = static_cast<llama_pos>(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = static_cast<int32_t>(n);
  if (llama_decode(ctx, batch) != 0) die("llama_decode failed");
  std::vector<std::vector<float>> rows;
  for (uint32_t i = 0; i < n; ++i) {
    const float* l = llama_get_logits_ith(ctx, static_cast<int32_t>(i));
    rows.emplace_back(l, l + n_vocab);
  }
  llama_batch_free(batch);
  llama_free(ctx);
  return rows;
}

void print_sequence(const std::vector<llama_token>& ids, const std::vector<std::vector<float>>& rows, int n_vocab,
                    int top) {
  std::printf("{\"n_vocab\": %d, \"ids\": [", n_vocab);
  for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? ", " : "", ids[i]);
  std::printf("], \"positions\": [\n");
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<int> order(static_cast<size_t>(n_vocab));
    for (int i = 0; i < n_vocab; ++i) order[static_cast<size_t>(i)] = i;
    const auto& row = rows[r];
    const int k = std::min(top, n_vocab);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
      return row[a] != row[b] ? row[a] > row[b] : a < b;
    });
    std::printf("  {\"argmax\": %d, \"top\": [", order[0]);
    for (int i = 0; i < k; ++i) std::printf("%s[%d, %.9g]", i ? ", " : "", order[i], static_cast<double>(row[order[i]]));
    std::printf("]}%s\n", r + 1 < rows.size() ? "," : "");
  }
  std::printf("]}");
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  llama_log_set([](ggml_log_level level, const char* text, void*) {
    if (level >= GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
  }, nullptr);
  ggml_backend_load_all();
  llama_backend_init();

  ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!cpu) die("no CPU backend");
  ggml_backend_dev_t devices[] = {cpu, nullptr};
  llama_model_params mp = llama_model_default_params();
  mp.devices = devices;
  mp.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(o.model.c_str(), mp);
  if (!model) die("cannot load " + o.model);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

  const char* name = std::strrchr(o.model.c_str(), '/');
  std::printf("{\"generator\": \"scripts/references/llama_logits.cpp (llama.cpp, CPU, 1 thread, no flash attention, "
              "F16 KV cache)\",\n \"model\": \"%s\", \"seed\": %u,\n \"sequences\": [\n",
              name ? name + 1 : o.model.c_str(), o.seed);
  for (size_t k = 0; k < o.lengths.size(); ++k) {
    std::mt19937 gen(o.seed + static_cast<unsigned>(k));
    std::uniform_int_distribution<int> dist(0, n_vocab - 1);
    std::vector<llama_token> ids(static_cast<size_t>(o.lengths[k]));
    for (auto& id : ids) id = dist(gen);
    print_sequence(ids, run(model, ids, n_vocab), n_vocab, o.top);
    std::printf("%s\n", k + 1 < o.lengths.size() ? "," : "");
  }
  std::printf("]}\n");
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
