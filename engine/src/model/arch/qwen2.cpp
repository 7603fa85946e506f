// Qwen2 (Yang et al., arXiv:2407.10671): llama's block (llama_block.cpp) with biases on the Q, K
// and V projections, RoPE on halves of each head (NeoX style, set in model_config.cpp), and the
// output bias llama.cpp's qwen2 graph adds to the logits when a file has one.

#include "model/arch/architectures.h"

namespace tandem {

void bind_qwen2_block(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  const std::string p = layer_prefix(il);
  bind_llama_block(c, b, il, l);
  l.attn.bq = b.vector(p + "attn_q.bias", c.q_dim());
  l.attn.bk = b.vector(p + "attn_k.bias", c.kv_dim());
  l.attn.bv = b.vector(p + "attn_v.bias", c.kv_dim());
}

void bind_qwen2_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  bind_qwen2_block(c, b, il, l);
  bind_feed_forward(c, b, il, l.ffn);
}

void forward_qwen2(const ModelWeights& w, ForwardContext& ctx) { forward_llama_blocks(w, ctx, w.output_b); }

}  // namespace tandem
