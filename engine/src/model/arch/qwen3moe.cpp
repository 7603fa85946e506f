// Qwen3-MoE (Yang et al., arXiv:2505.09388; Qwen3-30B-A3B, Qwen3-235B-A22B): qwen3's block
// (per-head Q/K norms, NeoX RoPE) and, in place of the dense feed-forward, a mixture of n_expert
// SwiGLU experts of which the router picks n_expert_used per token, with softmax weights
// renormalised over the chosen ones (llama_block.cpp runs it).

#include "model/arch/architectures.h"

namespace tandem {

void bind_qwen3moe_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  bind_qwen3_block(c, b, il, l);
  // A shared expert is run when a file has one (llama.cpp's qwen3moe graph has none; real
  // Qwen3-MoE files carry none either).
  bind_moe(c, b, il, SharedExpert::kOptional, /*expert_scales=*/true, l.moe);
}

void forward_qwen3moe(const ModelWeights& w, ForwardContext& ctx) { forward_llama_blocks(w, ctx); }

}  // namespace tandem
