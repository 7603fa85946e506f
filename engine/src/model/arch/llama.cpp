// Llama (Touvron et al., arXiv:2302.13971): pre-norm RMS norm, grouped-query attention with RoPE
// on adjacent pairs, SwiGLU feed-forward (llama_block.cpp). Also the architecture of SmolLM2,
// TinyLlama and the stories models, and of Mixtral (Jiang et al., arXiv:2401.04088), which GGUF
// writes as llama with {arch}.expert_count: each feed-forward is then n_expert SwiGLU experts as
// wide as the dense one, of which the router picks n_expert_used per token, their softmax
// weights renormalised over the chosen ones.

#include "model/arch/architectures.h"

namespace tandem {

void bind_llama_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  bind_llama_block(c, b, il, l);
  if (c.is_moe()) {
    // llama.cpp's llama graph applies the per-expert scales and runs no shared expert.
    bind_moe(c, b, il, SharedExpert::kNone, /*expert_scales=*/true, l.moe);
    return;
  }
  bind_feed_forward(c, b, il, l.ffn);
  bind_feed_forward_extras(c, b, il, /*biases=*/true, /*scales=*/true, l.ffn);
}

void forward_llama(const ModelWeights& w, ForwardContext& ctx) { forward_llama_blocks(w, ctx); }

}  // namespace tandem
