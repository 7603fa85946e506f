#include "model/synth.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "kernels/cpu/thread_pool.h"
#include "quant/quantize.h"

namespace tandem {
namespace {

using gguf::Value;
using gguf::ValueType;

// A small, fast generator (splitmix64): the file's bytes depend only on the seed.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Approximately N(0, 1): a sum of four uniforms, rescaled (Irwin-Hall).
  float normal() {
    float sum = 0.0f;
    for (int i = 0; i < 4; ++i) sum += static_cast<float>(next() >> 40) * (1.0f / 16777216.0f);
    return (sum - 2.0f) * 1.7320508f;
  }

 private:
  uint64_t state_;
};

// Which type llama-quantize gives each tensor of a file type (llama.cpp's Q4_K_M rule: attn_v
// and ffn_down get Q6_K in the first and last eighth of the layers and every third between).
struct TypeMix {
  GgmlType base;
  GgmlType output;
  GgmlType embedding;
  bool more_bits_v_down = false;
};

Result<TypeMix> type_mix(const std::string& name) {
  if (name == "q4_0") return TypeMix{GgmlType::Q4_0, GgmlType::Q6_K, GgmlType::Q4_0};
  if (name == "q8_0") return TypeMix{GgmlType::Q8_0, GgmlType::Q8_0, GgmlType::Q8_0};
  if (name == "q4_k_m") return TypeMix{GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q4_K, true};
  if (name == "f16") return TypeMix{GgmlType::F16, GgmlType::F16, GgmlType::F16};
  return make_error("unknown --type '" + name + "' (expected q4_0, q8_0, q4_k_m or f16)");
}

bool use_more_bits(int32_t layer, int32_t n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

// K-quants need rows that are a multiple of 256; llama-quantize falls back as below otherwise.
GgmlType fit_row(GgmlType type, int64_t n_in) {
  if (n_in % 256 == 0) return type;
  if (type == GgmlType::Q4_K) return GgmlType::Q5_0;
  if (type == GgmlType::Q6_K) return GgmlType::Q8_0;
  return type;
}

// One tensor of the file: random N(0, 0.02) rows quantized to `type`, or a constant (norm
// weights: ones; DeltaNet's decay ssm_a: negative).
struct TensorPlan {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> shape;  // ggml order: n_in first
  bool ones = false;           // constant: every element `value`
  float value = 1.0f;
  uint64_t seed = 0;           // per random tensor, in declaration order
};

// The tensors in file order, declared first (the header needs them all), then generated and
// written one slab of rows at a time, so the file may be larger than memory.
class Planner {
 public:
  explicit Planner(uint64_t seed) : seed_(seed) {}

  void matrix(const std::string& name, GgmlType type, std::vector<int64_t> shape) {
    type = fit_row(type, shape[0]);
    plans_.push_back({name, type, std::move(shape), false, 1.0f, seed_ * 1000003ull + counter_++});
  }
  void ones(const std::string& name, int64_t n) { fill(name, n, 1.0f); }
  void fill(const std::string& name, int64_t n, float value) {
    plans_.push_back({name, GgmlType::F32, {n}, true, value, 0});
  }

  Status write(gguf::GgufWriter& w, const std::string& path, cpu::ThreadPool& pool) const {
    for (const TensorPlan& t : plans_) w.add_tensor_info(t.name, t.type, t.shape);
    if (auto opened = w.open(path); !opened) return opened;
    std::vector<uint8_t> data;
    for (const TensorPlan& t : plans_) {
      const int64_t n_in = t.shape[0];
      int64_t n_rows = 1;
      for (size_t i = 1; i < t.shape.size(); ++i) n_rows *= t.shape[i];
      if (t.ones) {
        const std::vector<float> v(static_cast<size_t>(n_in), t.value);
        if (auto ok = w.write_tensor_data(v.data(), v.size() * sizeof(float)); !ok) return ok;
        continue;
      }
      const size_t row_bytes = ggml_row_size(t.type, n_in);
      constexpr int64_t kSlabRows = 8192;
      for (int64_t r0 = 0; r0 < n_rows; r0 += kSlabRows) {
        const int64_t r1 = std::min(n_rows, r0 + kSlabRows);
        data.resize(row_bytes * static_cast<size_t>(r1 - r0));
        pool.parallel_for(r1 - r0, 64, [&](int64_t begin, int64_t end) {
          std::vector<float> row(static_cast<size_t>(n_in));
          for (int64_t r = begin; r < end; ++r) {
            Random rng(t.seed * 0x100000001B3ull + static_cast<uint64_t>(r0 + r));
            for (float& v : row) v = 0.02f * rng.normal();
            quantize_row(t.type, row.data(), data.data() + static_cast<size_t>(r) * row_bytes, n_in);
          }
        });
        if (auto ok = w.write_tensor_data(data.data(), data.size()); !ok) return ok;
      }
    }
    return w.finish();
  }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
  std::vector<TensorPlan> plans_;
};

Value u32(int64_t v) { return Value::make_uint(ValueType::UINT32, static_cast<uint64_t>(v)); }
Value f32(double v) { return Value::make_float(ValueType::FLOAT32, v); }

// The vocabulary file's tokenizer.* metadata, its token lists padded to n_vocab entries with
// unused tokens (a model whose real vocabulary file is not at hand keeps its output size).
Result<int64_t> copy_vocabulary(const gguf::GgufFile& vocab, const std::string& vocab_path, int64_t n_vocab,
                                gguf::GgufWriter& w) {
  const gguf::Array* tokens = vocab.get_array("tokenizer.ggml.tokens");
  if (!tokens) return make_error(vocab_path + " has no tokenizer.ggml.tokens");
  const auto n_file = static_cast<int64_t>(tokens->items.size());
  if (n_vocab < n_file) n_vocab = n_file;
  for (const auto& [key, value] : vocab.metadata()) {
    if (key.rfind("tokenizer.", 0) != 0) continue;
    const gguf::Array* list = value.as_array();
    if (n_vocab == n_file || !list || static_cast<int64_t>(list->items.size()) != n_file) {
      w.set(key, value);
      continue;
    }
    std::vector<gguf::Value> items = list->items;
    for (int64_t i = n_file; i < n_vocab; ++i) {
      if (key == "tokenizer.ggml.tokens") {
        items.push_back(Value::make_string("<|synth_pad_" + std::to_string(i) + "|>"));
      } else if (key == "tokenizer.ggml.token_type") {
        items.push_back(Value::make_int(ValueType::INT32, 5));  // unused
      } else {
        items.push_back(list->element_type == ValueType::FLOAT32 ? f32(0.0) : Value::make_int(list->element_type, 0));
      }
    }
    w.set(key, Value::make_array(list->element_type, std::move(items)));
  }
  return n_vocab;
}

}  // namespace

const std::vector<SynthShape>& synth_presets() {
  static const std::vector<SynthShape> presets = {
      {.name = "tinyllama-1.1b", .n_embd = 2048, .n_layer = 22, .n_head = 32, .n_head_kv = 4, .n_ff = 5632,
       .n_ctx_train = 2048, .rope_freq_base = 10000.0f, .rms_eps = 1e-5f, .vocab_file = "ggml-vocab-llama-spm.gguf"},
      {.name = "smollm2-135m", .n_embd = 576, .n_layer = 30, .n_head = 9, .n_head_kv = 3, .n_ff = 1536,
       .n_ctx_train = 8192, .rope_freq_base = 100000.0f, .rms_eps = 1e-5f, .tied_embeddings = true,
       .vocab_file = "ggml-vocab-gpt-2.gguf"},
      {.name = "llama-8b", .n_embd = 4096, .n_layer = 32, .n_head = 32, .n_head_kv = 8, .n_ff = 14336,
       .n_ctx_train = 8192, .rope_freq_base = 500000.0f, .rms_eps = 1e-5f, .vocab_file = "ggml-vocab-llama-spm.gguf"},
      // Qwen3-30B-A3B (its config.json): 128 experts of width 768, 8 per token; attention 32 query
      // heads of 128 over 4 key/value heads (q_dim 4096 > n_embd). Qwen's 151936-token vocabulary
      // is not in the shared folder: GPT-2's, padded to that size, keeps the output projection's cost.
      {.name = "qwen3moe-30b-a3b", .arch = "qwen3moe", .n_embd = 2048, .n_layer = 48, .n_head = 32, .n_head_kv = 4,
       .n_ff = 6144, .n_ctx_train = 40960, .rope_freq_base = 1000000.0f, .rms_eps = 1e-6f,
       .vocab_file = "ggml-vocab-gpt-2.gguf", .head_dim = 128, .n_vocab = 151936, .n_expert = 128,
       .n_expert_used = 8, .n_ff_exp = 768},
      // Qwen3-Next-80B-A3B (its config.json): 48 layers, every 4th gated attention (16 query heads
      // of 256 over 2 KV heads, RoPE on a quarter of each head, theta 5e6), the others gated
      // DeltaNet (16 query/key heads and 32 value heads of 128, convolution kernel 4); every layer
      // 512 experts of width 512, 10 per token, plus a shared expert of 512. The converter's
      // multi-token-prediction layer is left out: inference never runs it.
      {.name = "qwen3next-80b-a3b", .arch = "qwen3next", .n_embd = 2048, .n_layer = 48, .n_head = 16,
       .n_head_kv = 2, .n_ff = 5120, .n_ctx_train = 262144, .rope_freq_base = 5000000.0f, .rms_eps = 1e-6f,
       .vocab_file = "ggml-vocab-gpt-2.gguf", .head_dim = 256, .n_vocab = 151936, .n_expert = 512,
       .n_expert_used = 10, .n_ff_exp = 512, .n_ff_shexp = 512, .n_rot = 64, .full_attention_interval = 4,
       .ssm_d_conv = 4, .ssm_n_k_heads = 16, .ssm_n_v_heads = 32, .ssm_d_k = 128, .ssm_d_v = 128},
  };
  return presets;
}

Status write_synthetic_model(const SynthOptions& options, const std::string& out_path) {
  const SynthShape* shape = nullptr;
  std::string names;
  for (const SynthShape& p : synth_presets()) {
    if (p.name == options.preset) shape = &p;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  if (!shape) return make_error("unknown --preset '" + options.preset + "' (expected one of " + names + ")");
  auto mix = type_mix(options.type);
  if (!mix) return Error{mix.error()};
  if (options.n_layers < 0 || options.n_layers > shape->n_layer) {
    return make_error("--layers " + std::to_string(options.n_layers) + " is out of range for " + shape->name +
                      " (1 to " + std::to_string(shape->n_layer) + ", 0 = all)");
  }
  const int32_t n_layer = options.n_layers > 0 ? options.n_layers : shape->n_layer;

  const std::string vocab_path =
      options.vocab_path.empty() ? options.vocab_dir + "/" + shape->vocab_file : options.vocab_path;
  auto vocab = gguf::GgufFile::open(vocab_path);
  if (!vocab) return make_error("vocabulary: " + vocab.error());

  gguf::GgufWriter w;
  const std::string& a = shape->arch;
  const bool moe = shape->n_expert > 0;
  const int64_t d = shape->n_embd;
  const int64_t head_dim = shape->head_dim > 0 ? shape->head_dim : d / shape->n_head;
  const int64_t q_dim = head_dim * shape->n_head;
  const int64_t kv_dim = head_dim * shape->n_head_kv;
  w.set("general.architecture", Value::make_string(a));
  std::string name = "synthetic " + shape->name + " " + options.type;
  if (n_layer != shape->n_layer) name += " (" + std::to_string(n_layer) + " layers)";
  w.set("general.name", Value::make_string(name));
  w.set(a + ".context_length", u32(shape->n_ctx_train));
  w.set(a + ".embedding_length", u32(d));
  w.set(a + ".block_count", u32(n_layer));
  w.set(a + ".feed_forward_length", u32(shape->n_ff));
  w.set(a + ".attention.head_count", u32(shape->n_head));
  w.set(a + ".attention.head_count_kv", u32(shape->n_head_kv));
  if (shape->head_dim > 0) {
    w.set(a + ".attention.key_length", u32(head_dim));
    w.set(a + ".attention.value_length", u32(head_dim));
  }
  w.set(a + ".rope.dimension_count", u32(shape->n_rot > 0 ? shape->n_rot : head_dim));
  w.set(a + ".rope.freq_base", f32(shape->rope_freq_base));
  w.set(a + ".attention.layer_norm_rms_epsilon", f32(shape->rms_eps));
  if (moe) {
    w.set(a + ".expert_count", u32(shape->n_expert));
    w.set(a + ".expert_used_count", u32(shape->n_expert_used));
    w.set(a + ".expert_feed_forward_length", u32(shape->n_ff_exp));
  }
  if (shape->n_ff_shexp > 0) w.set(a + ".expert_shared_feed_forward_length", u32(shape->n_ff_shexp));
  const bool hybrid = shape->full_attention_interval > 0;
  const int64_t ssm_key_dim = int64_t{shape->ssm_n_k_heads} * shape->ssm_d_k;
  const int64_t ssm_value_dim = int64_t{shape->ssm_n_v_heads} * shape->ssm_d_v;
  const int64_t ssm_conv_dim = 2 * ssm_key_dim + ssm_value_dim;  // q, k, v channels
  if (hybrid) {
    w.set(a + ".full_attention_interval", u32(shape->full_attention_interval));
    w.set(a + ".ssm.conv_kernel", u32(shape->ssm_d_conv));
    w.set(a + ".ssm.state_size", u32(shape->ssm_d_k));
    w.set(a + ".ssm.group_count", u32(shape->ssm_n_k_heads));
    w.set(a + ".ssm.time_step_rank", u32(shape->ssm_n_v_heads));
    w.set(a + ".ssm.inner_size", u32(ssm_value_dim));
  }
  auto n_vocab = copy_vocabulary(*vocab, vocab_path, shape->n_vocab, w);
  if (!n_vocab) return Error{n_vocab.error()};
  w.set(a + ".vocab_size", u32(*n_vocab));

  Planner plan(options.seed);
  plan.matrix("token_embd.weight", mix->embedding, {d, *n_vocab});
  plan.ones("output_norm.weight", d);
  if (!shape->tied_embeddings) plan.matrix("output.weight", mix->output, {d, *n_vocab});
  for (int32_t i = 0; i < n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    // The rule counts the full model's layers, so fewer layers keep the real layers' types.
    const GgmlType v_down =
        mix->more_bits_v_down && use_more_bits(i, shape->n_layer) ? GgmlType::Q6_K : mix->base;
    plan.ones(p + "attn_norm.weight", d);
    if (hybrid && (i + 1) % shape->full_attention_interval != 0) {
      // Gated DeltaNet, as llama.cpp's converter splits it. llama-quantize treats attn_qkv like
      // attn_v; the convolution, decay and bias stay F32.
      plan.matrix(p + "attn_qkv.weight", v_down, {d, ssm_conv_dim});
      plan.matrix(p + "attn_gate.weight", mix->base, {d, ssm_value_dim});
      plan.matrix(p + "ssm_ba.weight", mix->base, {d, 2 * int64_t{shape->ssm_n_v_heads}});
      plan.matrix(p + "ssm_conv1d.weight", GgmlType::F32, {shape->ssm_d_conv, ssm_conv_dim});
      plan.ones(p + "ssm_dt.bias", shape->ssm_n_v_heads);
      plan.fill(p + "ssm_a", shape->ssm_n_v_heads, -1.0f);  // -exp(A_log): a decay, so negative
      plan.ones(p + "ssm_norm.weight", shape->ssm_d_v);
      plan.matrix(p + "ssm_out.weight", mix->base, {ssm_value_dim, d});
    } else {
      // Qwen3-Next's gated attention: attn_q gives each head's query and its output gate.
      plan.matrix(p + "attn_q.weight", mix->base, {d, hybrid ? 2 * q_dim : q_dim});
      plan.matrix(p + "attn_k.weight", mix->base, {d, kv_dim});
      plan.matrix(p + "attn_v.weight", v_down, {d, kv_dim});
      plan.matrix(p + "attn_output.weight", mix->base, {q_dim, d});
      if (a == "qwen3moe" || a == "qwen3next") {
        plan.ones(p + "attn_q_norm.weight", head_dim);
        plan.ones(p + "attn_k_norm.weight", head_dim);
      }
    }
    // Qwen3-Next's converter names the norm before the feed-forward post_attention_norm.
    plan.ones(p + (a == "qwen3next" ? "post_attention_norm.weight" : "ffn_norm.weight"), d);
    if (moe) {
      // llama-quantize leaves the router in F32.
      plan.matrix(p + "ffn_gate_inp.weight", GgmlType::F32, {d, shape->n_expert});
      plan.matrix(p + "ffn_gate_exps.weight", mix->base, {d, shape->n_ff_exp, shape->n_expert});
      plan.matrix(p + "ffn_up_exps.weight", mix->base, {d, shape->n_ff_exp, shape->n_expert});
      plan.matrix(p + "ffn_down_exps.weight", v_down, {shape->n_ff_exp, d, shape->n_expert});
      if (shape->n_ff_shexp > 0) {
        plan.matrix(p + "ffn_gate_inp_shexp.weight", GgmlType::F32, {d});
        plan.matrix(p + "ffn_gate_shexp.weight", mix->base, {d, shape->n_ff_shexp});
        plan.matrix(p + "ffn_up_shexp.weight", mix->base, {d, shape->n_ff_shexp});
        plan.matrix(p + "ffn_down_shexp.weight", v_down, {shape->n_ff_shexp, d});
      }
    } else {
      plan.matrix(p + "ffn_gate.weight", mix->base, {d, shape->n_ff});
      plan.matrix(p + "ffn_up.weight", mix->base, {d, shape->n_ff});
      plan.matrix(p + "ffn_down.weight", v_down, {shape->n_ff, d});
    }
  }
  cpu::ThreadPool pool(options.n_threads);
  return plan.write(w, out_path, pool);
}

}  // namespace tandem
