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
#include "model/layers/attention.h"
#include "model/layers/deltanet.h"
#include "model/layers/feed_forward.h"
#include "model/layers/moe.h"
#include "model/model_config.h"

namespace tandem {

using cpu::WeightMatrix;

// One layer's tensors; each architecture (model/arch/) binds the ones it uses and leaves the
// rest empty.
struct LayerWeights {
  const float* attn_norm = nullptr;       // [n_embd]
  AttentionWeights attn;
  DeltaNetWeights deltanet;               // recurrent layers of hybrid models (qwen3next)
  const float* post_attn_norm = nullptr;  // [n_embd], gemma3
  const float* ffn_norm = nullptr;        // [n_embd] (qwen3moe: before the router and experts)
  FeedForwardWeights ffn;                 // dense layers
  MoeWeights moe;                         // mixture-of-experts layers
  const float* post_ffn_norm = nullptr;   // [n_embd], gemma3

  // Every weight matrix of the layer that is bound (experts one by one), for packing and sizes.
  std::vector<WeightMatrix*> matrices();
  std::vector<const WeightMatrix*> matrices() const;
};

struct ModelWeights {
  WeightMatrix token_embd;  // [n_vocab rows of n_embd]
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;  // [n_embd]
  WeightMatrix output;                 // [n_embd -> n_vocab]; the embedding when tied
  const float* rope_freqs = nullptr;   // [n_rot / 2] or null
  const float* output_b = nullptr;     // [n_vocab] or null (qwen2's optional output bias)
  const float* output_s = nullptr;     // [1] or null (llama.cpp's per-tensor scale)
};

class Model {
 public:
  // Maps the file and validates it. Errors name the file and the problem.
  static Result<std::unique_ptr<Model>> load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const gguf::GgufFile& file() const { return file_; }
  // Bytes of weights read to produce one token (every matrix once; of an MoE layer, the experts
  // one token uses), for bandwidth figures.
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
