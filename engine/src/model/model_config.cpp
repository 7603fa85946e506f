#include "model/model_config.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

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

// The mixture-of-experts keys as llama.cpp's converter writes them ({arch}.expert_count, ...).
Status read_moe_config(const gguf::GgufFile& file, ModelConfig& c) {
  const std::string& a = c.arch_name;
  auto n_expert = read_count(file, a, "expert_count");
  if (!n_expert) return make_error(n_expert.error() + " (a mixture-of-experts model needs it)");
  auto n_used = read_count(file, a, "expert_used_count");
  if (!n_used) return make_error(n_used.error() + " (a mixture-of-experts model needs it)");
  if (*n_expert > 1024) return make_error(a + ".expert_count = " + std::to_string(*n_expert) + " is out of range (at most 1024)");
  if (*n_used > *n_expert) {
    return make_error(a + ".expert_used_count (" + std::to_string(*n_used) + ") exceeds expert_count (" +
                      std::to_string(*n_expert) + ")");
  }
  c.n_expert = *n_expert;
  c.n_expert_used = *n_used;
  if (c.arch == Architecture::kLlama) {
    // Mixtral: each expert is as wide as feed_forward_length (llama.cpp's llama loader does not
    // read expert_feed_forward_length, which its saver writes as 0).
    c.n_ff_exp = c.n_ff;
  } else {
    // Without an expert width, llama.cpp takes n_ff / n_expert_used.
    auto n_ff_exp = read_count(file, a, "expert_feed_forward_length", std::max(1, c.n_ff / c.n_expert_used));
    if (!n_ff_exp) return Error{n_ff_exp.error()};
    c.n_ff_exp = *n_ff_exp;
  }
  // 0 (as llama.cpp's saver writes for qwen3moe) or absent: no shared expert's width given.
  if (const gguf::Value* shexp = file.find(a + ".expert_shared_feed_forward_length")) {
    const auto n = shexp->as_int();
    if (!n || *n < 0 || *n > (1 << 24)) {
      return make_error(a + ".expert_shared_feed_forward_length must be an integer from 0 to 16777216");
    }
    c.n_ff_shexp = static_cast<int32_t>(*n);
  }
  // Qwen2-MoE always has a shared expert: without a width it is feed_forward_length wide (as
  // llama.cpp's qwen2moe loader), resolved here so buffers are sized for it.
  if (c.arch == Architecture::kQwen2Moe && c.n_ff_shexp == 0) c.n_ff_shexp = c.n_ff;
  // Mixtral, Qwen3-MoE and Qwen3-Next renormalise the chosen experts' weights, Qwen2-MoE does not
  // (HF norm_topk_prob, which the converter does not write). llama.cpp hard-codes it per
  // architecture (build_moe_ffn's norm_w) and ignores {arch}.expert_weights_norm, which its own
  // model saver writes as false: so do we.
  c.expert_weights_norm = c.arch != Architecture::kQwen2Moe;
  // {arch}.expert_weights_scale is not read either: llama.cpp reads it only for the architectures
  // that scale (DeepSeek, GLM-4 MoE, ...), so for these its graphs get 0, "unscaled", whatever a
  // file says (its test generator writes 0). The router is a softmax for these architectures
  // whatever {arch}.expert_gating_func says (their llama.cpp graphs ignore that key too).
  c.expert_weights_scale = 1.0f;
  return ok_status();
}

// Qwen3-Next: the gated DeltaNet sizes ({arch}.ssm.*), which layers are attention, and the
// experts (as qwen3moe's, but required).
Status read_qwen3next_config(const gguf::GgufFile& file, ModelConfig& c) {
  const std::string& a = c.arch_name;
  const std::pair<const char*, int32_t*> ssm[] = {{"ssm.conv_kernel", &c.ssm_d_conv},
                                                  {"ssm.inner_size", &c.ssm_d_inner},
                                                  {"ssm.state_size", &c.ssm_d_state},
                                                  {"ssm.time_step_rank", &c.ssm_dt_rank},
                                                  {"ssm.group_count", &c.ssm_n_group}};
  for (const auto& [key, field] : ssm) {
    auto v = read_count(file, a, key);
    if (!v) return make_error(v.error() + " (the gated DeltaNet layers need it)");
    *field = *v;
  }
  if (c.ssm_d_inner % c.ssm_dt_rank != 0) {
    return make_error(a + ".ssm.inner_size (" + std::to_string(c.ssm_d_inner) +
                      ") is not a multiple of ssm.time_step_rank (" + std::to_string(c.ssm_dt_rank) + ", the value heads)");
  }
  if (c.ssm_dt_rank % c.ssm_n_group != 0 || c.ssm_dt_rank > 256) {
    return make_error(a + ".ssm.time_step_rank (" + std::to_string(c.ssm_dt_rank) +
                      " value heads) must be a multiple of ssm.group_count (" + std::to_string(c.ssm_n_group) +
                      " key heads) and at most 256");
  }
  // Multi-token-prediction blocks follow the trunk's layers; they are not run.
  const int64_t nextn = file.get_int(a + ".nextn_predict_layers").value_or(0);
  if (nextn < 0 || nextn >= c.n_layer) return make_error(a + ".nextn_predict_layers is out of range");
  c.n_layer -= static_cast<int32_t>(nextn);
  // Which layers are recurrent: the per-layer list when the file has one (as llama.cpp), else every
  // layer but each full_attention_interval-th (llama.cpp's default interval: 4).
  auto interval = read_count(file, a, "full_attention_interval", 4);
  if (!interval) return Error{interval.error()};
  c.full_attention_interval = *interval;
  if (const gguf::Array* recurrent = file.get_array(a + ".attention.recurrent_layers")) {
    if (recurrent->items.size() < static_cast<size_t>(c.n_layer)) {
      return make_error(a + ".attention.recurrent_layers has " + std::to_string(recurrent->items.size()) +
                        " entries for " + std::to_string(c.n_layer) + " layers");
    }
    for (int32_t il = 0; il < c.n_layer; ++il) {
      const gguf::Value& item = recurrent->items[static_cast<size_t>(il)];
      std::optional<bool> flag = item.as_bool();
      if (!flag) {
        if (auto n = item.as_int()) flag = *n != 0;
      }
      if (!flag) return make_error(a + ".attention.recurrent_layers must hold booleans or integers");
      c.recurrent_layers.push_back(*flag);
    }
  }
  return read_moe_config(file, c);
}

// Which layers slide, as llama.cpp reads {arch}.attention.sliding_window_pattern: a per-layer
// array (non-zero: sliding), or N for "every Nth layer is global" (0: all slide), 6 by default.
Result<std::vector<bool>> read_sliding_layers(const gguf::GgufFile& file, const std::string& a, int32_t n_layer) {
  const std::string key = a + ".attention.sliding_window_pattern";
  std::vector<bool> sliding(static_cast<size_t>(n_layer));
  if (const gguf::Array* per_layer = file.get_array(key)) {
    if (per_layer->items.size() < static_cast<size_t>(n_layer)) {
      return make_error(key + " has " + std::to_string(per_layer->items.size()) + " entries for " +
                        std::to_string(n_layer) + " layers");
    }
    for (int32_t il = 0; il < n_layer; ++il) {
      const gguf::Value& item = per_layer->items[static_cast<size_t>(il)];
      std::optional<bool> flag = item.as_bool();
      if (auto n = item.as_int(); !flag && n) flag = *n != 0;
      if (!flag) return make_error(key + " must hold booleans or integers");
      sliding[static_cast<size_t>(il)] = *flag;
    }
    return sliding;
  }
  const int64_t n = file.get_int(key).value_or(6);
  if (n < 0 || n > (1 << 24)) return make_error(key + " = " + std::to_string(n) + " is out of range");
  for (int32_t il = 0; il < n_layer; ++il) sliding[static_cast<size_t>(il)] = n == 0 || il % n < n - 1;
  return sliding;
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
  } else if (a == "qwen3") {
    c.arch = Architecture::kQwen3;
  } else if (a == "gemma3") {
    c.arch = Architecture::kGemma3;
  } else if (a == "qwen3moe") {
    c.arch = Architecture::kQwen3Moe;
  } else if (a == "qwen3next") {
    c.arch = Architecture::kQwen3Next;
  } else if (a == "qwen2moe") {
    c.arch = Architecture::kQwen2Moe;
  } else {
    return make_error("architecture '" + a +
                      "' is not supported (supported: llama, qwen2, qwen3, gemma3, qwen2moe, qwen3moe, qwen3next)");
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

  if (c.arch == Architecture::kGemma3) {
    // Gemma 3 interleaves sliding-window layers (local RoPE base) with global ones.
    c.sliding_window = static_cast<int32_t>(file.get_int(a + ".attention.sliding_window").value_or(0));
    if (c.sliding_window > 0) {
      if (auto sliding = read_sliding_layers(file, a, c.n_layer); !sliding) {
        return Error{sliding.error()};
      } else {
        c.sliding_layers = std::move(sliding).value();
      }
      c.rope_local_freq_base = read_float(file, a + ".rope.freq_base_swa", 10000.0f);
    }
    // Queries are scaled before attention rather than the scores after (gemma_pytorch's
    // query_pre_attn_scalar), which matters once the query is rounded to F16.
    c.scale_queries = true;
  }
  // llama with experts is Mixtral (llama.cpp's llama graph takes the MoE feed-forward then).
  const bool mixtral = c.arch == Architecture::kLlama && file.get_int(a + ".expert_count").value_or(0) > 0;
  if (c.arch == Architecture::kQwen3Moe || c.arch == Architecture::kQwen2Moe || mixtral) {
    if (auto moe = read_moe_config(file, c); !moe) return Error{moe.error()};
  }
  if (c.arch == Architecture::kQwen3Next) {
    if (auto next = read_qwen3next_config(file, c); !next) return Error{next.error()};
  }
  return c;
}

}  // namespace tandem
