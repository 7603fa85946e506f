// Gemma 3 (Gemma Team, arXiv:2503.19786): embeddings scaled by sqrt(n_embd), RMS norms before and
// after each sub-layer (the (1 + w) weights are stored as such by the converter), per-head Q/K
// norms, GeGLU, and five sliding-window layers (local RoPE base) for each global one. Queries
// are scaled before attention (query_pre_attn_scalar), set in model_config.cpp.

#include <cmath>

#include "model/arch/architectures.h"
#include "model/layers/attention.h"
#include "model/layers/embedding.h"
#include "model/layers/feed_forward.h"
#include "model/layers/norm.h"

namespace tandem {

void bind_gemma3_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  const std::string p = layer_prefix(il);
  l.attn_norm = b.vector(p + "attn_norm.weight", c.n_embd);
  bind_attention(c, b, il, l.attn);
  l.attn.q_norm = b.vector(p + "attn_q_norm.weight", c.head_dim);
  l.attn.k_norm = b.vector(p + "attn_k_norm.weight", c.head_dim);
  l.attn.bo = nullptr;  // llama.cpp's gemma3 graph has no output bias
  l.post_attn_norm = b.vector(p + "post_attention_norm.weight", c.n_embd);
  l.ffn_norm = b.vector(p + "ffn_norm.weight", c.n_embd);
  bind_feed_forward(c, b, il, l.ffn);
  l.post_ffn_norm = b.vector(p + "post_ffw_norm.weight", c.n_embd);
}

void forward_gemma3(const ModelWeights& w, ForwardContext& ctx) {
  ForwardBuffers& s = ctx.buf;
  const int32_t n = ctx.n_tokens;
  const int64_t d = ctx.config.n_embd;
  embed_tokens(ctx, w.token_embd, std::sqrt(static_cast<float>(d)));
  for (int32_t il = 0; il < ctx.config.n_layer; ++il) {
    const LayerWeights& l = w.layers[static_cast<size_t>(il)];
    const bool sliding = ctx.config.is_sliding_layer(il);
    rms_norm_rows(ctx, s.x.data(), l.attn_norm, s.xn.data(), n, d);
    attention(ctx, il, l.attn, sliding, s.xn.data(), s.proj.data());
    rms_norm_rows(ctx, s.proj.data(), l.post_attn_norm, s.proj.data(), n, d);
    add_residual(ctx, s.proj.data());

    rms_norm_rows(ctx, s.x.data(), l.ffn_norm, s.xn.data(), n, d);
    feed_forward(ctx, il, l.ffn, Activation::kGelu, s.xn.data(), s.proj.data(), n);
    rms_norm_rows(ctx, s.proj.data(), l.post_ffn_norm, s.proj.data(), n, d);
    add_residual(ctx, s.proj.data());
  }
  output_logits(ctx, w.output_norm, w.output, w.output_s);
}

}  // namespace tandem
