#pragma once
// A loaded model: its configuration and weights as views into the memory-mapped GGUF file.
// Loading validates every tensor's presence, type and shape; nothing is copied except small
// norm vectors stored in a type other than F32 and, where the CPU has packed kernels for their
// type, the matrices, which are repacked (kernels/cpu/packed_weights.h) and their file pages
// released.

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "gguf/gguf_reader.h"
#include "kernels/cpu/matmul.h"
#include "model/model_config.h"

namespace tandem {

using cpu::WeightMatrix;

struct LayerWeights {
  const float* attn_norm = nullptr;  // [n_embd]
  WeightMatrix wq;                   // [n_embd -> n_head * head_dim]
  WeightMatrix wk;                   // [n_embd -> n_head_kv * head_dim]
  WeightMatrix wv;                   // [n_embd -> n_head_kv * head_dim]
  WeightMatrix wo;                   // [n_head * head_dim -> n_embd]
  const float* bq = nullptr;         // [n_head * head_dim], qwen2 only
  const float* bk = nullptr;         // [n_head_kv * head_dim], qwen2 only
  const float* bv = nullptr;         // [n_head_kv * head_dim], qwen2 only
  const float* q_norm = nullptr;     // [head_dim], qwen3 and gemma3
  const float* k_norm = nullptr;     // [head_dim], qwen3 and gemma3
  const float* post_attn_norm = nullptr;  // [n_embd], gemma3
  const float* ffn_norm = nullptr;   // [n_embd]
  const float* post_ffn_norm = nullptr;   // [n_embd], gemma3
  WeightMatrix w_gate;               // [n_embd -> n_ff]
  WeightMatrix w_up;                 // [n_embd -> n_ff]
  WeightMatrix w_down;               // [n_ff -> n_embd]
};

struct ModelWeights {
  WeightMatrix token_embd;  // [n_vocab rows of n_embd]
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;  // [n_embd]
  WeightMatrix output;                 // [n_embd -> n_vocab]; the embedding when tied
  const float* rope_freqs = nullptr;   // [n_rot / 2] or null
};

class Model {
 public:
  // Maps the file and validates it. Errors name the file and the problem.
  static Result<std::unique_ptr<Model>> load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::GgufFile& file() const { return file_; }
  // Bytes of weights read to produce one token (every matrix once), for bandwidth figures.
  size_t weight_bytes() const;

 private:
  Model() = default;
  Status bind_weights();
  // Repacks every matrix the active kernels have a packed form for.
  void pack_weights();

  gguf::GgufFile file_;
  ModelConfig config_;
  ModelWeights weights_;
  std::vector<std::vector<float>> converted_;  // norm vectors stored as F16/BF16 in the file
  std::vector<std::unique_ptr<uint8_t[]>> packed_;  // what WeightMatrix::packed points into
};

}  // namespace tandem
