#include "model/model_config.h"

#include <cmath>

namespace tandem {
namespace {

// Reads "{arch}.{key}" as a positive integer; missing keys take `fallback` (0 = required).
Result<int32_t> read_count(const gguf::GgufFile& file, const std::string& arch, const std::string& key,
                           int64_t fallback = 0) {
  const std::string full = arch + "." + key;
  const gguf::Value* v = file.find(full);
  if (!v) {
    if (fallback > 0) return static_cast<int32_t>(fallback);
    return make_error("model metadata lacks required key " + full);
  }
  auto n = v->as_int();
  if (!n) {
    if (v->as_array()) return make_error(full + " varies per layer, which this engine does not support");
    return make_error(full + " must be an integer");
  }
  if (*n <= 0 || *n > (1 << 24)) return make_error(full + " = " + std::to_string(*n) + " is out of range");
  return static_cast<int32_t>(*n);
}

float read_float(const gguf::GgufFile& file, const std::string& key, float fallback) {
  auto v = file.get_float(key);
  return v ? static_cast<float>(*v) : fallback;
}

}  // namespace

Result<ModelConfig> read_model_config(const gguf::GgufFile& file) {
  ModelConfig c;
  auto arch = file.get_string("general.architecture");
  if (!arch) return make_error("model metadata lacks general.architecture");
  c.arch_name = *arch;
  c.name = file.get_string("general.name").value_or(*arch);
  const std::string& a = c.arch_name;
  if (a == "llama") {
    c.arch = Architecture::kLlama;
  } else if (a == "qwen2") {
    c.arch = Architecture::kQwen2;
    c.qkv_bias = true;
  } else if (a == "qwen3") {
    c.arch = Architecture::kQwen3;
    c.qk_norm = true;
  } else if (a == "gemma3") {
    c.arch = Architecture::kGemma3;
    c.qk_norm = true;
    c.gemma_style = true;
  } else {
    return make_error("architecture '" + a + "' is not supported (supported: llama, qwen2, qwen3, gemma3)");
  }

  auto n_embd = read_count(file, a, "embedding_length");
  if (!n_embd) return Error{n_embd.error()};
  auto n_layer = read_count(file, a, "block_count");
  if (!n_layer) return Error{n_layer.error()};
  auto n_ff = read_count(file, a, "feed_forward_length");
  if (!n_ff) return Error{n_ff.error()};
  auto n_head = read_count(file, a, "attention.head_count");
  if (!n_head) return Error{n_head.error()};
  auto n_head_kv = read_count(file, a, "attention.head_count_kv", *n_head);
  if (!n_head_kv) return Error{n_head_kv.error()};
  auto head_dim = read_count(file, a, "attention.key_length", *n_embd / *n_head);
  if (!head_dim) return Error{head_dim.error()};
  auto n_ctx = read_count(file, a, "context_length", 2048);
  if (!n_ctx) return Error{n_ctx.error()};
  c.n_embd = *n_embd;
  c.n_layer = *n_layer;
  c.n_ff = *n_ff;
  c.n_head = *n_head;
  c.n_head_kv = *n_head_kv;
  c.head_dim = *head_dim;
  c.n_ctx_train = *n_ctx;
  if (c.n_head % c.n_head_kv != 0) {
    return make_error(a + ".attention.head_count (" + std::to_string(c.n_head) +
                      ") is not a multiple of head_count_kv (" + std::to_string(c.n_head_kv) + ")");
  }
  auto value_len = file.get_int(a + ".attention.value_length");
  if (value_len && *value_len != c.head_dim) {
    return make_error("attention.value_length differs from key_length, which this engine does not support");
  }

  const gguf::Array* tokens = file.get_array("tokenizer.ggml.tokens");
  auto vocab_size = file.get_int(a + ".vocab_size");
  c.n_vocab = static_cast<int32_t>(vocab_size ? *vocab_size : tokens ? static_cast<int64_t>(tokens->items.size()) : 0);
  if (c.n_vocab <= 0) return make_error("model metadata gives no vocabulary size");

  c.rms_eps = read_float(file, a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  if (!(c.rms_eps > 0.0f && c.rms_eps < 1.0f)) return make_error(a + ".attention.layer_norm_rms_epsilon is out of range");

  auto& rope = c.rope;
  rope.style = c.arch == Architecture::kLlama ? cpu::RopeStyle::kNormal : cpu::RopeStyle::kNeox;
  auto n_rot = read_count(file, a, "rope.dimension_count", c.head_dim);
  if (!n_rot) return Error{n_rot.error()};
  if (*n_rot > c.head_dim || *n_rot % 2 != 0) return make_error(a + ".rope.dimension_count must be even and <= the head size");
  rope.n_rot = *n_rot;
  rope.freq_base = read_float(file, a + ".rope.freq_base", 10000.0f);
  if (!(rope.freq_base > 1.0f)) return make_error(a + ".rope.freq_base must be greater than 1");
  rope.n_ctx_orig = static_cast<int32_t>(file.get_int(a + ".rope.scaling.original_context_length").value_or(c.n_ctx_train));
  const std::string scaling = file.get_string(a + ".rope.scaling.type").value_or("none");
  float factor = read_float(file, a + ".rope.scaling.factor", 0.0f);
  if (factor == 0.0f) {
    float linear = read_float(file, a + ".rope.scale_linear", 0.0f);  // older key
    if (linear > 0.0f) factor = linear;
  }
  if (scaling == "linear" || scaling == "yarn") {
    if (!(factor >= 1.0f)) factor = 1.0f;
    rope.freq_scale = 1.0f / factor;
    if (scaling == "yarn") {
      rope.ext_factor = 1.0f;
      rope.attn_factor = read_float(file, a + ".rope.scaling.attn_factor", 1.0f);
      rope.beta_fast = read_float(file, a + ".rope.scaling.yarn_beta_fast", 32.0f);
      rope.beta_slow = read_float(file, a + ".rope.scaling.yarn_beta_slow", 1.0f);
    }
  } else if (scaling != "none") {
    return make_error("rope scaling type '" + scaling + "' is not supported (none, linear, yarn)");
  }

  if (c.gemma_style) {
    // Gemma 3 interleaves sliding-window layers (local RoPE base) with global ones.
    c.sliding_window = static_cast<int32_t>(file.get_int(a + ".attention.sliding_window").value_or(0));
    if (c.sliding_window > 0) {
      c.sliding_window_pattern = static_cast<int32_t>(file.get_int(a + ".attention.sliding_window_pattern").value_or(6));
      c.rope_local_freq_base = read_float(file, a + ".rope.freq_base_swa", 10000.0f);
    }
    // Queries are scaled before attention rather than the scores after (gemma_pytorch's
    // query_pre_attn_scalar), which matters once the query is rounded to F16.
    c.scale_queries = true;
  }
  return c;
}

}  // namespace tandem
