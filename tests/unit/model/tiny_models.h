#pragma once
// Tiny random-weight models written with GgufWriter, for tests of an architecture's wiring:
// qwen3 (dense) and qwen3moe (optionally with a shared expert). Weights are N(0, 0.1) from a
// fixed seed, in F32 or a quantized type (rows of 64, so every block type fits).

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../support/tiny_gguf.h"
#include "gguf/gguf_writer.h"
#include "quant/quantize.h"

namespace tandem::test {

struct TinyShape {
  std::string arch = "qwen3";  // qwen3 | qwen3moe
  int32_t n_vocab = 96;
  int32_t n_embd = 64;
  int32_t n_layer = 2;
  int32_t n_head = 4;
  int32_t n_head_kv = 2;
  int32_t head_dim = 32;
  int32_t n_ff = 128;
  int32_t n_expert = 0;
  int32_t n_expert_used = 0;
  int32_t n_ff_exp = 64;
  int32_t n_ff_shexp = 0;  // > 0: a shared expert with its sigmoid gate
  GgmlType type = GgmlType::Q8_0;
  std::optional<GgmlType> up_exps_type;  // ffn_up_exps in another type than the other matrices
  uint32_t seed = 5;
  // qwen3moe with one expert: the experts are the dense model's ffn_* (same seed and names' order).
  bool experts_from_dense = false;
};

class TinyModelWriter {
 public:
  explicit TinyModelWriter(const TinyShape& s) : s_(s), rng_(s.seed) {}

  gguf::GgufWriter build() {
    using gguf::Value;
    using gguf::ValueType;
    auto u32 = [](int64_t v) { return Value::make_uint(ValueType::UINT32, static_cast<uint64_t>(v)); };
    gguf::GgufWriter w;
    const std::string& a = s_.arch;
    w.set("general.architecture", Value::make_string(a));
    w.set(a + ".vocab_size", u32(s_.n_vocab));
    w.set(a + ".context_length", u32(256));
    w.set(a + ".embedding_length", u32(s_.n_embd));
    w.set(a + ".block_count", u32(s_.n_layer));
    w.set(a + ".feed_forward_length", u32(s_.n_ff));
    w.set(a + ".attention.head_count", u32(s_.n_head));
    w.set(a + ".attention.head_count_kv", u32(s_.n_head_kv));
    w.set(a + ".attention.key_length", u32(s_.head_dim));
    w.set(a + ".attention.value_length", u32(s_.head_dim));
    w.set(a + ".attention.layer_norm_rms_epsilon", Value::make_float(ValueType::FLOAT32, 1e-6));
    w.set(a + ".rope.freq_base", Value::make_float(ValueType::FLOAT32, 1000000.0));
    if (s_.n_expert > 0) {
      w.set(a + ".expert_count", u32(s_.n_expert));
      w.set(a + ".expert_used_count", u32(s_.n_expert_used));
      w.set(a + ".expert_feed_forward_length", u32(s_.n_ff_exp));
      if (s_.n_ff_shexp > 0) w.set(a + ".expert_shared_feed_forward_length", u32(s_.n_ff_shexp));
    }
    const int64_t d = s_.n_embd;
    const int64_t q_dim = s_.n_head * s_.head_dim;
    const int64_t kv_dim = s_.n_head_kv * s_.head_dim;
    matrix(w, "token_embd.weight", {d, s_.n_vocab});
    norm(w, "output_norm.weight", d);
    matrix(w, "output.weight", {d, s_.n_vocab});
    for (int32_t il = 0; il < s_.n_layer; ++il) {
      const std::string p = "blk." + std::to_string(il) + ".";
      norm(w, p + "attn_norm.weight", d);
      matrix(w, p + "attn_q.weight", {d, q_dim});
      matrix(w, p + "attn_k.weight", {d, kv_dim});
      matrix(w, p + "attn_v.weight", {d, kv_dim});
      matrix(w, p + "attn_output.weight", {q_dim, d});
      norm(w, p + "attn_q_norm.weight", s_.head_dim);
      norm(w, p + "attn_k_norm.weight", s_.head_dim);
      norm(w, p + "ffn_norm.weight", d);
      if (s_.n_expert == 0) {
        matrix(w, p + "ffn_gate.weight", {d, s_.n_ff});
        matrix(w, p + "ffn_up.weight", {d, s_.n_ff});
        matrix(w, p + "ffn_down.weight", {s_.n_ff, d});
        continue;
      }
      if (s_.experts_from_dense) {
        // Same random stream as the dense model's gate, up, down; the router is F32 zeros.
        matrix(w, p + "ffn_gate_exps.weight", {d, s_.n_ff_exp, 1});
        matrix(w, p + "ffn_up_exps.weight", {d, s_.n_ff_exp, 1});
        matrix(w, p + "ffn_down_exps.weight", {s_.n_ff_exp, d, 1});
        const std::vector<float> zeros(static_cast<size_t>(d), 0.0f);
        w.add_tensor(p + "ffn_gate_inp.weight", GgmlType::F32, {d, 1}, zeros.data(), zeros.size() * 4);
        continue;
      }
      matrix(w, p + "ffn_gate_inp.weight", {d, s_.n_expert}, GgmlType::F32);
      matrix(w, p + "ffn_gate_exps.weight", {d, s_.n_ff_exp, s_.n_expert});
      matrix(w, p + "ffn_up_exps.weight", {d, s_.n_ff_exp, s_.n_expert}, s_.up_exps_type);
      matrix(w, p + "ffn_down_exps.weight", {s_.n_ff_exp, d, s_.n_expert});
      if (s_.n_ff_shexp > 0) {
        matrix(w, p + "ffn_gate_inp_shexp.weight", {d}, GgmlType::F32);
        matrix(w, p + "ffn_gate_shexp.weight", {d, s_.n_ff_shexp});
        matrix(w, p + "ffn_up_shexp.weight", {d, s_.n_ff_shexp});
        matrix(w, p + "ffn_down_shexp.weight", {s_.n_ff_shexp, d});
      }
    }
    return w;
  }

 private:
  void matrix(gguf::GgufWriter& w, const std::string& name, std::vector<int64_t> shape,
              std::optional<GgmlType> as = std::nullopt) {
    int64_t n = 1;
    for (int64_t x : shape) n *= x;
    std::normal_distribution<float> normal(0.0f, 0.1f);
    std::vector<float> values(static_cast<size_t>(n));
    for (float& v : values) v = normal(rng_);
    add_quantized(w, name, as.value_or(s_.type), std::move(shape), values);
  }
  void norm(gguf::GgufWriter& w, const std::string& name, int64_t n) {
    const std::vector<float> v = norm_weights(rng_, n);
    w.add_tensor(name, GgmlType::F32, {n}, v.data(), v.size() * 4);
  }

  TinyShape s_;
  std::mt19937 rng_;
};

// Writes the model under the test's temp dir and returns its path.
inline std::string write_tiny_model(const TinyShape& shape, const std::string& file_name) {
  TinyModelWriter writer(shape);
  return write_temp_model(writer.build(), file_name);
}

}  // namespace tandem::test
