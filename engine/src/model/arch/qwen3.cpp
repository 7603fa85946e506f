// Qwen3 (Yang et al., arXiv:2505.09388): llama's block (llama_block.cpp) with an RMS norm of each
// query and key head before RoPE (NeoX style), and no Q/K/V biases.

#include "model/arch/architectures.h"

namespace tandem {

void bind_qwen3_block(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  const std::string p = layer_prefix(il);
  bind_llama_block(c, b, il, l);
  l.attn.q_norm = b.vector(p + "attn_q_norm.weight", c.head_dim);
  l.attn.k_norm = b.vector(p + "attn_k_norm.weight", c.head_dim);
}

void bind_qwen3_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  bind_qwen3_block(c, b, il, l);
  bind_feed_forward(c, b, il, l.ffn);
  bind_feed_forward_extras(c, b, il, /*biases=*/false, /*scales=*/true, l.ffn);
}

void forward_qwen3(const ModelWeights& w, ForwardContext& ctx) { forward_llama_blocks(w, ctx); }

}  // namespace tandem
