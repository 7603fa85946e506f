// The llama-style block (Touvron et al., arXiv:2302.13971) that llama, qwen2, qwen3 and their
// mixture-of-experts forms share: pre-norm RMS norm, attention, residual, RMS norm, feed-forward,
// residual. What differs between them is which tensors a layer binds (architectures.h), not the
// order of the calls.

#include "model/arch/architectures.h"
#include "model/layers/attention.h"
#include "model/layers/embedding.h"
#include "model/layers/feed_forward.h"
#include "model/layers/moe.h"
#include "model/layers/norm.h"

namespace tandem {

void bind_llama_block(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  const std::string p = layer_prefix(il);
  l.attn_norm = b.vector(p + "attn_norm.weight", c.n_embd);
  bind_attention(c, b, il, l.attn);
  l.ffn_norm = b.vector(p + "ffn_norm.weight", c.n_embd);
}

void forward_llama_blocks(const ModelWeights& w, ForwardContext& ctx, const float* output_b) {
  ForwardBuffers& s = ctx.buf;
  const int32_t n = ctx.n_tokens;
  const int64_t d = ctx.config.n_embd;
  const MoeRouting routing = moe_routing(ctx.config);
  embed_tokens(ctx, w.token_embd);
  for (int32_t il = 0; il < ctx.config.n_layer; ++il) {
    const LayerWeights& l = w.layers[static_cast<size_t>(il)];
    rms_norm_rows(ctx, s.x.data(), l.attn_norm, s.xn.data(), n, d);
    attention(ctx, il, l.attn, /*sliding=*/false, s.xn.data(), s.proj.data());
    add_residual(ctx, s.proj.data());

    rms_norm_rows(ctx, s.x.data(), l.ffn_norm, s.xn.data(), n, d);
    if (l.moe.present()) {
      moe_feed_forward(ctx, il, l.moe, routing, s.xn.data(), s.proj.data());
    } else {
      feed_forward(ctx, il, l.ffn, Activation::kSilu, s.xn.data(), s.proj.data(), n);
    }
    add_residual(ctx, s.proj.data());
  }
  output_logits(ctx, w.output_norm, w.output, w.output_s, output_b);
}

}  // namespace tandem
