// Qwen3-Next (Qwen team, 2025; Qwen3-Next-80B-A3B): a hybrid of gated DeltaNet linear attention
// (Yang et al., arXiv:2412.06464) and gated full attention. Every full_attention_interval-th
// layer attends over the KV cache: one projection gives each head's query and an output gate,
// queries and keys get per-head RMS norms and RoPE on part of each head (NeoX), and the
// attention output is multiplied by sigmoid(gate). The other layers run the DeltaNet recurrence
// over the sequence's recurrent state (model/layers/deltanet.h). Every layer's feed-forward is a
// mixture of experts plus a shared expert gated by a sigmoid. Tensor names and metadata as
// llama.cpp's converter writes them (its src/models/qwen3next.cpp is the reference).

#include "model/arch/architectures.h"
#include "model/layers/attention.h"
#include "model/layers/deltanet.h"
#include "model/layers/embedding.h"
#include "model/layers/moe.h"
#include "model/layers/norm.h"

namespace tandem {

namespace {

void bind_deltanet(const ModelConfig& c, TensorBinder& b, int32_t il, DeltaNetWeights& w) {
  const std::string p = layer_prefix(il);
  const DeltaNetShape s = deltanet_shape(c);
  // Files from the current converter split the input projection in two; older ones have ssm_in
  // (llama.cpp uses the split pair when a file has both).
  if (b.has(p + "attn_qkv.weight") || !b.has(p + "ssm_in.weight")) {
    w.wqkv = b.matrix(p + "attn_qkv.weight", c.n_embd, s.conv_dim());
    w.wgate = b.matrix(p + "attn_gate.weight", c.n_embd, s.value_dim());
  } else {
    w.ssm_in = b.matrix(p + "ssm_in.weight", c.n_embd, s.conv_dim() + s.value_dim());
  }
  w.w_ba = b.matrix(p + "ssm_ba.weight", c.n_embd, 2 * static_cast<int64_t>(s.n_v_heads));
  w.conv = b.floats(p + "ssm_conv1d.weight", {s.d_conv, s.conv_dim()});
  w.dt_bias = b.vector(p + "ssm_dt.bias", s.n_v_heads);
  w.a = b.vector(p + "ssm_a", s.n_v_heads);
  w.norm = b.vector(p + "ssm_norm.weight", s.d_v);
  w.w_out = b.matrix(p + "ssm_out.weight", s.value_dim(), c.n_embd);
}

void bind_gated_attention(const ModelConfig& c, TensorBinder& b, int32_t il, AttentionWeights& a) {
  const std::string p = layer_prefix(il);
  a.wq = b.matrix(p + "attn_q.weight", c.n_embd, 2 * static_cast<int64_t>(c.q_dim()));
  a.wk = b.matrix(p + "attn_k.weight", c.n_embd, c.kv_dim());
  a.wv = b.matrix(p + "attn_v.weight", c.n_embd, c.kv_dim());
  a.wo = b.matrix(p + "attn_output.weight", c.q_dim(), c.n_embd);
  a.q_norm = b.vector(p + "attn_q_norm.weight", c.head_dim);
  a.k_norm = b.vector(p + "attn_k_norm.weight", c.head_dim);
  a.q_gate = true;
  // What llama.cpp's graph applies when a file has them (its test models do; real ones do not):
  // Q/K/V biases, the projections' per-tensor scales. No output bias.
  a.bq = b.vector(p + "attn_q.bias", 2 * static_cast<int64_t>(c.q_dim()), /*required=*/false);
  a.bk = b.vector(p + "attn_k.bias", c.kv_dim(), /*required=*/false);
  a.bv = b.vector(p + "attn_v.bias", c.kv_dim(), /*required=*/false);
  a.wq_s = b.vector(p + "attn_q.scale", 1, /*required=*/false);
  a.wk_s = b.vector(p + "attn_k.scale", 1, /*required=*/false);
  a.wv_s = b.vector(p + "attn_v.scale", 1, /*required=*/false);
  a.wo_s = b.vector(p + "attn_output.scale", 1, /*required=*/false);
}

}  // namespace

void bind_qwen3next_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  const std::string p = layer_prefix(il);
  l.attn_norm = b.vector(p + "attn_norm.weight", c.n_embd);
  if (c.layer_kind(il) == LayerKind::kRecurrent) {
    bind_deltanet(c, b, il, l.deltanet);
  } else {
    bind_gated_attention(c, b, il, l.attn);
  }
  // The norm before the feed-forward is named post_attention_norm in these files.
  l.ffn_norm = b.vector(p + "post_attention_norm.weight", c.n_embd);
  bind_moe(c, b, il, SharedExpert::kOptional, /*expert_scales=*/true, l.moe);
  // The shared expert's per-tensor scales (llama.cpp's build_ffn applies them; the DeltaNet
  // projections' scales it does not).
  l.moe.shexp.gate_s = b.vector(p + "ffn_gate_shexp.scale", 1, /*required=*/false);
  l.moe.shexp.up_s = b.vector(p + "ffn_up_shexp.scale", 1, /*required=*/false);
  l.moe.shexp.down_s = b.vector(p + "ffn_down_shexp.scale", 1, /*required=*/false);
}

void forward_qwen3next(const ModelWeights& w, ForwardContext& ctx) {
  const ModelConfig& c = ctx.config;
  ForwardBuffers& s = ctx.buf;
  const int32_t n = ctx.n_tokens;
  const MoeRouting routing = moe_routing(c);
  embed_tokens(ctx, w.token_embd);
  for (int32_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = w.layers[static_cast<size_t>(il)];
    rms_norm_rows(ctx, s.x.data(), l.attn_norm, s.xn.data(), n, c.n_embd);
    if (c.layer_kind(il) == LayerKind::kRecurrent) {
      deltanet(ctx, il, l.deltanet, s.xn.data(), s.proj.data());
    } else {
      attention(ctx, il, l.attn, /*sliding=*/false, s.xn.data(), s.proj.data());  // gated, Q/K norms
    }
    add_residual(ctx, s.proj.data());

    rms_norm_rows(ctx, s.x.data(), l.ffn_norm, s.xn.data(), n, c.n_embd);
    moe_feed_forward(ctx, il, l.moe, routing, s.xn.data(), s.proj.data());
    add_residual(ctx, s.proj.data());
  }
  output_logits(ctx, w.output_norm, w.output, w.output_s);
}

}  // namespace tandem
