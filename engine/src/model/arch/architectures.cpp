#include "model/arch/architectures.h"

#include "core/check.h"

namespace tandem {

const ArchitectureSpec& architecture_spec(Architecture arch) {
  static const ArchitectureSpec kSpecs[] = {
      {Architecture::kLlama, bind_llama_layer, forward_llama},
      {Architecture::kQwen2, bind_qwen2_layer, forward_qwen2},
      {Architecture::kQwen3, bind_qwen3_layer, forward_qwen3},
      {Architecture::kGemma3, bind_gemma3_layer, forward_gemma3},
      {Architecture::kQwen3Moe, bind_qwen3moe_layer, forward_qwen3moe},
      {Architecture::kQwen3Next, bind_qwen3next_layer, forward_qwen3next},
      {Architecture::kQwen2Moe, bind_qwen2moe_layer, forward_qwen2moe},
  };
  for (const ArchitectureSpec& spec : kSpecs) {
    if (spec.arch == arch) return spec;
  }
  TANDEM_CHECK(false && "architecture without a spec");
  return kSpecs[0];
}

std::string layer_prefix(int32_t il) { return "blk." + std::to_string(il) + "."; }

void bind_attention(const ModelConfig& c, TensorBinder& b, int32_t il, AttentionWeights& a) {
  const std::string p = layer_prefix(il);
  a.wq = b.matrix(p + "attn_q.weight", c.n_embd, c.q_dim());
  a.wk = b.matrix(p + "attn_k.weight", c.n_embd, c.kv_dim());
  a.wv = b.matrix(p + "attn_v.weight", c.n_embd, c.kv_dim());
  a.wo = b.matrix(p + "attn_output.weight", c.q_dim(), c.n_embd);
  // What llama.cpp allows on every architecture's attention: biases and per-tensor scales.
  a.bq = b.vector(p + "attn_q.bias", c.q_dim(), /*required=*/false);
  a.bk = b.vector(p + "attn_k.bias", c.kv_dim(), /*required=*/false);
  a.bv = b.vector(p + "attn_v.bias", c.kv_dim(), /*required=*/false);
  a.bo = b.vector(p + "attn_output.bias", c.n_embd, /*required=*/false);
  a.wq_s = b.vector(p + "attn_q.scale", 1, /*required=*/false);
  a.wk_s = b.vector(p + "attn_k.scale", 1, /*required=*/false);
  a.wv_s = b.vector(p + "attn_v.scale", 1, /*required=*/false);
  a.wo_s = b.vector(p + "attn_output.scale", 1, /*required=*/false);
}

void bind_feed_forward(const ModelConfig& c, TensorBinder& b, int32_t il, FeedForwardWeights& f) {
  const std::string p = layer_prefix(il);
  f.w_gate = b.matrix(p + "ffn_gate.weight", c.n_embd, c.n_ff);
  f.w_up = b.matrix(p + "ffn_up.weight", c.n_embd, c.n_ff);
  f.w_down = b.matrix(p + "ffn_down.weight", c.n_ff, c.n_embd);
}

void bind_feed_forward_extras(const ModelConfig& c, TensorBinder& b, int32_t il, bool biases, bool scales,
                              FeedForwardWeights& f) {
  const std::string p = layer_prefix(il);
  if (biases) {
    f.b_gate = b.vector(p + "ffn_gate.bias", c.n_ff, /*required=*/false);
    f.b_up = b.vector(p + "ffn_up.bias", c.n_ff, /*required=*/false);
    f.b_down = b.vector(p + "ffn_down.bias", c.n_embd, /*required=*/false);
  }
  if (scales) {
    f.gate_s = b.vector(p + "ffn_gate.scale", 1, /*required=*/false);
    f.up_s = b.vector(p + "ffn_up.scale", 1, /*required=*/false);
    f.down_s = b.vector(p + "ffn_down.scale", 1, /*required=*/false);
  }
}

void bind_moe(const ModelConfig& c, TensorBinder& b, int32_t il, SharedExpert shared, bool expert_scales,
              MoeWeights& m) {
  const std::string p = layer_prefix(il);
  m.gate_inp = b.matrix(p + "ffn_gate_inp.weight", c.n_embd, c.n_expert);
  if (b.has(p + "ffn_gate_up_exps.weight") && !b.has(p + "ffn_gate_exps.weight")) {
    // Gate and up stacked in one tensor (as llama.cpp may write them): each expert's rows are its
    // gate's then its up's, so each half is an ordinary view.
    const int64_t n_rows = 2 * int64_t{c.n_ff_exp};
    for (cpu::WeightMatrix& both : b.matrices(p + "ffn_gate_up_exps.weight", c.n_embd, n_rows, c.n_expert)) {
      both.n_out = c.n_ff_exp;
      m.gate_exps.push_back(both);
      both.data += static_cast<size_t>(c.n_ff_exp) * both.row_bytes;
      m.up_exps.push_back(both);
    }
  } else {
    m.gate_exps = b.matrices(p + "ffn_gate_exps.weight", c.n_embd, c.n_ff_exp, c.n_expert);
    m.up_exps = b.matrices(p + "ffn_up_exps.weight", c.n_embd, c.n_ff_exp, c.n_expert);
  }
  m.down_exps = b.matrices(p + "ffn_down_exps.weight", c.n_ff_exp, c.n_embd, c.n_expert);
  if (expert_scales) {
    m.gate_exps_s = b.vector(p + "ffn_gate_exps.scale", c.n_expert, /*required=*/false);
    m.up_exps_s = b.vector(p + "ffn_up_exps.scale", c.n_expert, /*required=*/false);
    m.down_exps_s = b.vector(p + "ffn_down_exps.scale", c.n_expert, /*required=*/false);
  }
  if (shared == SharedExpert::kNone) return;
  if (shared == SharedExpert::kOptional && !b.has(p + "ffn_gate_shexp.weight")) return;
  const bool required = shared == SharedExpert::kRequired;
  const int32_t n_ff_shexp = c.n_ff_shexp > 0 ? c.n_ff_shexp : c.n_ff;
  m.shexp.w_gate = b.matrix(p + "ffn_gate_shexp.weight", c.n_embd, n_ff_shexp);
  m.shexp.w_up = b.matrix(p + "ffn_up_shexp.weight", c.n_embd, n_ff_shexp);
  m.shexp.w_down = b.matrix(p + "ffn_down_shexp.weight", n_ff_shexp, c.n_embd);
  m.gate_inp_shexp = b.row_matrix(p + "ffn_gate_inp_shexp.weight", c.n_embd, required);
}

MoeRouting moe_routing(const ModelConfig& c) {
  MoeRouting r;
  r.n_expert = c.n_expert;
  r.n_expert_used = c.n_expert_used;
  r.norm_top_k = c.expert_weights_norm;
  r.weights_scale = c.expert_weights_scale;
  r.act = Activation::kSilu;
  return r;
}

}  // namespace tandem
