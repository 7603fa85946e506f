#pragma once
// A tiny random-weight qwen3next model written with GgufWriter, with the tensor names and metadata
// of llama.cpp's converter: layers alternate gated DeltaNet (even) and gated attention (odd),
// every layer a mixture of experts with a shared expert. Optionally carries another model's
// vocabulary (tokenizer.ggml.*), so that the engine can serve it.

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "../support/tiny_gguf.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "quant/quantize.h"

namespace tandem::test {

struct Qwen3NextShape {
  int64_t n_vocab = 80, n_embd = 64, n_layer = 4, n_head = 2, n_head_kv = 1, head_dim = 32, n_rot = 8;
  int64_t n_expert = 4, n_expert_used = 2, n_ff_exp = 32, n_ff_shexp = 64;
  int64_t d_conv = 4, d_state = 16, n_group = 2, dt_rank = 4, d_inner = 64;
  GgmlType type = GgmlType::Q8_0;
};

class Qwen3NextWriter {
 public:
  explicit Qwen3NextWriter(const Qwen3NextShape& s) : s_(s), rng_(11) {}

  gguf::GgufWriter build(const std::string& skip_tensor = "", int64_t inner_size = 0) {
    using gguf::Value;
    using gguf::ValueType;
    auto u32 = [](int64_t v) { return Value::make_uint(ValueType::UINT32, static_cast<uint64_t>(v)); };
    gguf::GgufWriter w;
    const std::string a = "qwen3next";
    w.set("general.architecture", Value::make_string(a));
    w.set(a + ".vocab_size", u32(s_.n_vocab));
    w.set(a + ".context_length", u32(256));
    w.set(a + ".embedding_length", u32(s_.n_embd));
    w.set(a + ".block_count", u32(s_.n_layer));
    w.set(a + ".feed_forward_length", u32(96));
    w.set(a + ".attention.head_count", u32(s_.n_head));
    w.set(a + ".attention.head_count_kv", u32(s_.n_head_kv));
    w.set(a + ".attention.key_length", u32(s_.head_dim));
    w.set(a + ".attention.value_length", u32(s_.head_dim));
    w.set(a + ".attention.layer_norm_rms_epsilon", Value::make_float(ValueType::FLOAT32, 1e-6));
    w.set(a + ".rope.freq_base", Value::make_float(ValueType::FLOAT32, 10000000.0));
    w.set(a + ".rope.dimension_count", u32(s_.n_rot));
    w.set(a + ".expert_count", u32(s_.n_expert));
    w.set(a + ".expert_used_count", u32(s_.n_expert_used));
    w.set(a + ".expert_feed_forward_length", u32(s_.n_ff_exp));
    w.set(a + ".expert_shared_feed_forward_length", u32(s_.n_ff_shexp));
    w.set(a + ".ssm.conv_kernel", u32(s_.d_conv));
    w.set(a + ".ssm.state_size", u32(s_.d_state));
    w.set(a + ".ssm.group_count", u32(s_.n_group));
    w.set(a + ".ssm.time_step_rank", u32(s_.dt_rank));
    w.set(a + ".ssm.inner_size", u32(inner_size > 0 ? inner_size : s_.d_inner));
    w.set(a + ".full_attention_interval", u32(2));
    skip_ = skip_tensor;
    const int64_t d = s_.n_embd, q_dim = s_.n_head * s_.head_dim, kv_dim = s_.n_head_kv * s_.head_dim;
    const int64_t key_dim = s_.n_group * s_.d_state, conv_dim = 2 * key_dim + s_.d_inner;
    matrix(w, "token_embd.weight", {d, s_.n_vocab});
    norm(w, "output_norm.weight", d);
    matrix(w, "output.weight", {d, s_.n_vocab});
    for (int64_t il = 0; il < s_.n_layer; ++il) {
      const std::string p = "blk." + std::to_string(il) + ".";
      norm(w, p + "attn_norm.weight", d);
      if ((il + 1) % 2 != 0) {  // gated DeltaNet
        matrix(w, p + "attn_qkv.weight", {d, conv_dim});
        matrix(w, p + "attn_gate.weight", {d, s_.d_inner});
        matrix(w, p + "ssm_ba.weight", {d, 2 * s_.dt_rank});
        floats(w, p + "ssm_conv1d.weight", {s_.d_conv, conv_dim}, 0.5f);
        floats(w, p + "ssm_dt.bias", {s_.dt_rank}, 0.5f);
        floats(w, p + "ssm_a", {s_.dt_rank}, 1.0f, /*negative=*/true);
        norm(w, p + "ssm_norm.weight", s_.d_inner / s_.dt_rank);
        matrix(w, p + "ssm_out.weight", {s_.d_inner, d});
      } else {  // gated attention
        matrix(w, p + "attn_q.weight", {d, 2 * q_dim});
        matrix(w, p + "attn_k.weight", {d, kv_dim});
        matrix(w, p + "attn_v.weight", {d, kv_dim});
        matrix(w, p + "attn_output.weight", {q_dim, d});
        norm(w, p + "attn_q_norm.weight", s_.head_dim);
        norm(w, p + "attn_k_norm.weight", s_.head_dim);
      }
      norm(w, p + "post_attention_norm.weight", d);
      floats(w, p + "ffn_gate_inp.weight", {d, s_.n_expert}, 0.3f);
      matrix(w, p + "ffn_gate_exps.weight", {d, s_.n_ff_exp, s_.n_expert});
      matrix(w, p + "ffn_up_exps.weight", {d, s_.n_ff_exp, s_.n_expert});
      matrix(w, p + "ffn_down_exps.weight", {s_.n_ff_exp, d, s_.n_expert});
      floats(w, p + "ffn_gate_inp_shexp.weight", {d}, 0.3f);
      matrix(w, p + "ffn_gate_shexp.weight", {d, s_.n_ff_shexp});
      matrix(w, p + "ffn_up_shexp.weight", {d, s_.n_ff_shexp});
      matrix(w, p + "ffn_down_shexp.weight", {s_.n_ff_shexp, d});
    }
    return w;
  }

 private:
  std::vector<float> random(int64_t n, float scale) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = normal(rng_);
    return v;
  }
  void matrix(gguf::GgufWriter& w, const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t x : shape) n *= x;
    const std::vector<float> values = random(n, 0.15f);
    if (name == skip_) return;
    add_quantized(w, name, s_.type, std::move(shape), values);
  }
  void floats(gguf::GgufWriter& w, const std::string& name, std::vector<int64_t> shape, float scale,
              bool negative = false) {
    int64_t n = 1;
    for (int64_t x : shape) n *= x;
    std::vector<float> v = random(n, scale);
    if (negative) {
      for (float& x : v) x = -std::fabs(x);
    }
    if (name == skip_) return;
    w.add_tensor(name, GgmlType::F32, std::move(shape), v.data(), v.size() * 4);
  }
  void norm(gguf::GgufWriter& w, const std::string& name, int64_t n) {
    const std::vector<float> v = norm_weights(rng_, n);
    if (name == skip_) return;
    w.add_tensor(name, GgmlType::F32, {n}, v.data(), v.size() * 4);
  }

  Qwen3NextShape s_;
  std::mt19937 rng_;
  std::string skip_;
};

// Writes the model under the test's temp dir and returns its path; skip names a tensor to leave
// out, inner_size overrides ssm.inner_size, vocab_from copies a model's tokenizer.ggml.* keys (and
// its vocabulary size).
inline std::string write_qwen3next(const std::string& file, const std::string& skip = "", int64_t inner_size = 0,
                                   const std::string& vocab_from = "") {
  Qwen3NextShape shape;
  std::optional<gguf::GgufFile> vocab;
  if (!vocab_from.empty()) {
    auto opened = gguf::GgufFile::open(vocab_from);
    if (!opened) {
      ADD_FAILURE() << "vocabulary source: " << opened.error();
      return "";
    }
    vocab.emplace(std::move(opened).value());
    const gguf::Array* tokens = vocab->get_array("tokenizer.ggml.tokens");
    if (!tokens) {
      ADD_FAILURE() << vocab_from << " has no tokenizer.ggml.tokens";
      return "";
    }
    shape.n_vocab = static_cast<int64_t>(tokens->items.size());
  }
  Qwen3NextWriter writer(shape);
  gguf::GgufWriter w = writer.build(skip, inner_size);
  if (vocab) {
    for (const auto& [key, value] : vocab->metadata()) {
      if (key.rfind("tokenizer.ggml.", 0) == 0) w.set(key, value);
    }
  }
  return write_temp_model(w, file);
}

}  // namespace tandem::test
