#include "model/synth.h"

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

class Builder {
 public:
  Builder(uint64_t seed, cpu::ThreadPool& pool) : seed_(seed), pool_(pool) {}

  void matrix(gguf::GgufWriter& w, const std::string& name, GgmlType type, int64_t n_in, int64_t n_out) {
    type = fit_row(type, n_in);
    const size_t row_bytes = ggml_row_size(type, n_in);
    std::vector<uint8_t> data(row_bytes * static_cast<size_t>(n_out));
    const uint64_t tensor_seed = seed_ * 1000003ull + counter_++;
    pool_.parallel_for(n_out, 64, [&](int64_t begin, int64_t end) {
      std::vector<float> row(static_cast<size_t>(n_in));
      for (int64_t r = begin; r < end; ++r) {
        Random rng(tensor_seed * 0x100000001B3ull + static_cast<uint64_t>(r));
        for (float& v : row) v = 0.02f * rng.normal();
        quantize_row(type, row.data(), data.data() + static_cast<size_t>(r) * row_bytes, n_in);
      }
    });
    w.add_tensor(name, type, {n_in, n_out}, data.data(), data.size());
  }

  void ones(gguf::GgufWriter& w, const std::string& name, int64_t n) {
    const std::vector<float> v(static_cast<size_t>(n), 1.0f);
    w.add_tensor(name, GgmlType::F32, {n}, v.data(), v.size() * sizeof(float));
  }

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
  cpu::ThreadPool& pool_;
};

Value u32(int64_t v) { return Value::make_uint(ValueType::UINT32, static_cast<uint64_t>(v)); }
Value f32(double v) { return Value::make_float(ValueType::FLOAT32, v); }

}  // namespace

const std::vector<SynthShape>& synth_presets() {
  static const std::vector<SynthShape> presets = {
      {"tinyllama-1.1b", 2048, 22, 32, 4, 5632, 2048, 10000.0f, 1e-5f, false, "ggml-vocab-llama-spm.gguf"},
      {"smollm2-135m", 576, 30, 9, 3, 1536, 8192, 100000.0f, 1e-5f, true, "ggml-vocab-gpt-2.gguf"},
      {"llama-8b", 4096, 32, 32, 8, 14336, 8192, 500000.0f, 1e-5f, false, "ggml-vocab-llama-spm.gguf"},
  };
  return presets;
}

Status write_synthetic_model(const SynthOptions& options, const std::string& out_path) {
  const SynthShape* shape = nullptr;
  for (const SynthShape& p : synth_presets()) {
    if (p.name == options.preset) shape = &p;
  }
  if (!shape) return make_error("unknown --preset '" + options.preset + "' (expected tinyllama-1.1b, smollm2-135m or llama-8b)");
  auto mix = type_mix(options.type);
  if (!mix) return Error{mix.error()};

  const std::string vocab_path =
      options.vocab_path.empty() ? options.vocab_dir + "/" + shape->vocab_file : options.vocab_path;
  auto vocab = gguf::GgufFile::open(vocab_path);
  if (!vocab) return make_error("vocabulary: " + vocab.error());
  const gguf::Array* tokens = vocab->get_array("tokenizer.ggml.tokens");
  if (!tokens) return make_error(vocab_path + " has no tokenizer.ggml.tokens");
  const int64_t n_vocab = static_cast<int64_t>(tokens->items.size());

  gguf::GgufWriter w;
  const std::string a = "llama";
  w.set("general.architecture", Value::make_string(a));
  w.set("general.name", Value::make_string("synthetic " + shape->name + " " + options.type));
  w.set(a + ".context_length", u32(shape->n_ctx_train));
  w.set(a + ".embedding_length", u32(shape->n_embd));
  w.set(a + ".block_count", u32(shape->n_layer));
  w.set(a + ".feed_forward_length", u32(shape->n_ff));
  w.set(a + ".attention.head_count", u32(shape->n_head));
  w.set(a + ".attention.head_count_kv", u32(shape->n_head_kv));
  w.set(a + ".rope.dimension_count", u32(shape->n_embd / shape->n_head));
  w.set(a + ".rope.freq_base", f32(shape->rope_freq_base));
  w.set(a + ".attention.layer_norm_rms_epsilon", f32(shape->rms_eps));
  w.set(a + ".vocab_size", u32(n_vocab));
  for (const auto& [key, value] : vocab->metadata()) {
    if (key.rfind("tokenizer.", 0) == 0) w.set(key, value);
  }

  cpu::ThreadPool pool(options.n_threads);
  Builder b(options.seed, pool);
  const int64_t d = shape->n_embd;
  const int64_t head_dim = d / shape->n_head;
  const int64_t kv_dim = head_dim * shape->n_head_kv;
  b.matrix(w, "token_embd.weight", mix->embedding, d, n_vocab);
  b.ones(w, "output_norm.weight", d);
  if (!shape->tied_embeddings) b.matrix(w, "output.weight", mix->output, d, n_vocab);
  for (int32_t i = 0; i < shape->n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const GgmlType v_down = mix->more_bits_v_down && use_more_bits(i, shape->n_layer) ? GgmlType::Q6_K : mix->base;
    b.ones(w, p + "attn_norm.weight", d);
    b.matrix(w, p + "attn_q.weight", mix->base, d, d);
    b.matrix(w, p + "attn_k.weight", mix->base, d, kv_dim);
    b.matrix(w, p + "attn_v.weight", v_down, d, kv_dim);
    b.matrix(w, p + "attn_output.weight", mix->base, d, d);
    b.ones(w, p + "ffn_norm.weight", d);
    b.matrix(w, p + "ffn_gate.weight", mix->base, d, shape->n_ff);
    b.matrix(w, p + "ffn_up.weight", mix->base, d, shape->n_ff);
    b.matrix(w, p + "ffn_down.weight", v_down, shape->n_ff, d);
  }
  return w.write(out_path);
}

}  // namespace tandem
