#pragma once
// Hyper-parameters of a model, read and validated from GGUF metadata ("{arch}.block_count", ...).

#include <cstdint>
#include <string>

#include "core/result.h"
#include "gguf/gguf_reader.h"
#include "kernels/cpu/rope.h"

namespace tandem {

enum class Architecture { kLlama, kQwen2, kQwen3, kGemma3 };

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
  // Architecture traits.
  bool qkv_bias = false;     // qwen2: biases on the Q, K, V projections
  bool qk_norm = false;      // qwen3, gemma3: RMS norm of each query and key head
  bool gemma_style = false;  // gemma3: scaled embeddings, (1 + w) norms, GeGLU, post-norms
  int32_t sliding_window = 0;        // gemma3: local attention span of the sliding layers
  int32_t sliding_window_pattern = 0;  // every Nth layer is global (gemma3: 6)
  float rope_local_freq_base = 10000.0f;
  bool scale_queries = false;  // gemma3: q *= 1/sqrt(head_dim) before attention, scores unscaled

  int32_t q_dim() const { return n_head * head_dim; }
  int32_t kv_dim() const { return n_head_kv * head_dim; }

  // gemma3 alternates local (sliding-window) and global attention layers.
  bool has_sliding_layers() const { return sliding_window_pattern > 0; }
  bool is_sliding_layer(int32_t layer) const {
    return has_sliding_layers() && (layer + 1) % sliding_window_pattern != 0;
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
