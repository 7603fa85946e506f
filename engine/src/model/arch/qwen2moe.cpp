// Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B; Yang et al., arXiv:2407.10671): qwen2's block
// (Q/K/V biases, NeoX RoPE; llama_block.cpp) with a mixture of experts as its feed-forward: the
// router's softmax, the top n_expert_used experts weighted by their probabilities as they are
// (not renormalised: HF norm_topk_prob = false, llama.cpp's qwen2moe graph norm_w = false), plus
// a shared expert that every token runs, scaled by sigmoid(ffn_gate_inp_shexp . x).
// Tensor names and hyper-parameters as llama.cpp's src/models/qwen2moe.cpp reads them.

#include "model/arch/architectures.h"

namespace tandem {

void bind_qwen2moe_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l) {
  bind_qwen2_block(c, b, il, l);
  // llama.cpp's qwen2moe graph applies no per-expert or shared-expert scales, nor output.bias,
  // even when a file has them (its test generator writes them): neither does this.
  bind_moe(c, b, il, SharedExpert::kRequired, /*expert_scales=*/false, l.moe);
}

void forward_qwen2moe(const ModelWeights& w, ForwardContext& ctx) { forward_llama_blocks(w, ctx); }

}  // namespace tandem
