#pragma once
// Hyper-parameters of a model, read and validated from GGUF metadata ("{arch}.block_count", ...).

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "gguf/gguf_reader.h"
#include "kernels/cpu/rope.h"

namespace tandem {

enum class Architecture { kLlama, kQwen2, kQwen3, kGemma3, kQwen3Moe, kQwen3Next, kQwen2Moe };

// What a layer's token-mixing sub-layer is: attention over the KV cache, or a recurrence whose
// per-sequence state replaces the cache (Qwen3-Next's gated DeltaNet layers).
enum class LayerKind { kAttention, kRecurrent };

struct ModelConfig {
  Architecture arch = Architecture::kLlama;
  std::string arch_name;
  std::string name;  // general.name, for display
  int32_t n_vocab = 0;
  int32_t n_ctx_train = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;  // per-head key/query/value width
  int32_t n_ff = 0;
  float rms_eps = 1e-5f;
  cpu::RopeParams rope;  // freq_factors are attached by the weights loader
  // Architecture traits (which tensors a layer has is the architecture's file's business,
  // model/arch/).
  int32_t sliding_window = 0;        // gemma3: local attention span of the sliding layers
  // gemma3: which layers use the window (true) rather than global attention; empty: none.
  std::vector<bool> sliding_layers;
  float rope_local_freq_base = 10000.0f;
  bool scale_queries = false;  // gemma3: q *= 1/sqrt(head_dim) before attention, scores unscaled
  // Mixture of experts (qwen2moe, qwen3moe, qwen3next, llama with experts = Mixtral; 0: dense).
  int32_t n_expert = 0;          // {arch}.expert_count
  int32_t n_expert_used = 0;     // {arch}.expert_used_count: experts per token
  int32_t n_ff_exp = 0;          // {arch}.expert_feed_forward_length: width of one expert
  int32_t n_ff_shexp = 0;        // {arch}.expert_shared_feed_forward_length (0: no shared expert)
  bool expert_weights_norm = true;    // renormalise the chosen experts' weights (norm_top_k_prob)
  float expert_weights_scale = 1.0f;  // {arch}.expert_weights_scale
  // Hybrid models: every full_attention_interval-th layer is attention, the others recurrent
  // (0: every layer is attention).
  int32_t full_attention_interval = 0;
  // Or per layer, when the file lists them ({arch}.attention.recurrent_layers): true = recurrent.
  std::vector<bool> recurrent_layers;
  // Recurrent (gated DeltaNet) layers, from {arch}.ssm.* (model/layers/deltanet.h).
  int32_t ssm_d_conv = 0;   // ssm.conv_kernel
  int32_t ssm_d_inner = 0;  // ssm.inner_size
  int32_t ssm_d_state = 0;  // ssm.state_size
  int32_t ssm_dt_rank = 0;  // ssm.time_step_rank
  int32_t ssm_n_group = 0;  // ssm.group_count

  int32_t q_dim() const { return n_head * head_dim; }
  int32_t kv_dim() const { return n_head_kv * head_dim; }

  bool is_moe() const { return n_expert > 0; }
  LayerKind layer_kind(int32_t layer) const {
    if (!recurrent_layers.empty()) {
      return recurrent_layers[static_cast<size_t>(layer)] ? LayerKind::kRecurrent : LayerKind::kAttention;
    }
    if (full_attention_interval <= 0) return LayerKind::kAttention;
    return (layer + 1) % full_attention_interval == 0 ? LayerKind::kAttention : LayerKind::kRecurrent;
  }

  // gemma3 alternates local (sliding-window) and global attention layers.
  bool has_sliding_layers() const { return !sliding_layers.empty(); }
  bool is_sliding_layer(int32_t layer) const {
    return has_sliding_layers() && sliding_layers[static_cast<size_t>(layer)];
  }
  // The RoPE of a layer: the sliding layers have their own frequency base and no scaling.
  cpu::RopeParams rope_of(bool sliding) const {
    cpu::RopeParams p = rope;
    if (sliding) {
      p.freq_base = rope_local_freq_base;
      p.freq_scale = 1.0f;
    }
    return p;
  }
};

Result<ModelConfig> read_model_config(const gguf::GgufFile& file);

}  // namespace tandem
