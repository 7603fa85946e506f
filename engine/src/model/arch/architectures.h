#pragma once
// The architectures Tandem runs, one file each in this folder (as llama.cpp's src/models/): the
// tensors of a layer (bind_layer) and the forward pass over them (forward), written as named
// calls of the shared layers in model/layers/ in the order the paper gives them.
//
// Adding an architecture: a value of Architecture and its metadata in model_config.cpp, a file
// here with its two functions, and a row in architectures.cpp.

#include <cstdint>

#include "model/forward_context.h"
#include "model/model.h"
#include "model/tensor_binder.h"

namespace tandem {

struct ArchitectureSpec {
  Architecture arch;
  // Binds the tensors of layer il ("blk.{il}.*") into l; the binder records what is missing or
  // misshapen.
  void (*bind_layer)(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
  // One batch through the model: embeddings, every layer, the logits of the rows asked for.
  void (*forward)(const ModelWeights& w, ForwardContext& ctx);
};

const ArchitectureSpec& architecture_spec(Architecture arch);

// The "blk.{il}." prefix of a layer's tensor names.
std::string layer_prefix(int32_t il);

// Each architecture's pair (in its own file).
void bind_llama_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_llama(const ModelWeights& w, ForwardContext& ctx);
void bind_qwen2_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_qwen2(const ModelWeights& w, ForwardContext& ctx);
void bind_qwen3_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_qwen3(const ModelWeights& w, ForwardContext& ctx);
void bind_gemma3_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_gemma3(const ModelWeights& w, ForwardContext& ctx);
void bind_qwen3moe_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_qwen3moe(const ModelWeights& w, ForwardContext& ctx);
void bind_qwen3next_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_qwen3next(const ModelWeights& w, ForwardContext& ctx);
void bind_qwen2moe_layer(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
void forward_qwen2moe(const ModelWeights& w, ForwardContext& ctx);

// The llama-style block that llama, qwen2, qwen3 and their MoE forms share (llama_block.cpp):
//   x += attention(rms_norm(x));  x += feed_forward(rms_norm(x))
// with the layer's mixture of experts as its feed-forward when it bound one, else its dense
// SwiGLU. bind_llama_block binds attn_norm, the attention tensors (bind_attention) and ffn_norm;
// the architecture adds what its attention has besides and binds its feed-forward.
void bind_llama_block(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
// The whole pass of a model of llama-style blocks: embeddings, every layer, the logits (plus
// output_b, [n_vocab], where the architecture's llama.cpp graph adds output.bias).
void forward_llama_blocks(const ModelWeights& w, ForwardContext& ctx, const float* output_b = nullptr);

// Tensors several architectures share, bound the same way.
void bind_attention(const ModelConfig& c, TensorBinder& b, int32_t il, AttentionWeights& a);
void bind_feed_forward(const ModelConfig& c, TensorBinder& b, int32_t il, FeedForwardWeights& f);
// The feed-forward's optional biases and per-tensor scales, for the architectures whose
// llama.cpp graph applies them (llama: both; qwen3: scales); a file's others are ignored, as there.
void bind_feed_forward_extras(const ModelConfig& c, TensorBinder& b, int32_t il, bool biases, bool scales,
                              FeedForwardWeights& f);
// qwen2's block: bind_llama_block with the Q/K/V biases required (qwen2.cpp; qwen2moe too).
void bind_qwen2_block(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
// qwen3's block: bind_llama_block with per-head Q/K norms (qwen3.cpp; qwen3moe too).
void bind_qwen3_block(const ModelConfig& c, TensorBinder& b, int32_t il, LayerWeights& l);
// Whether an architecture's MoE layer has a shared expert, as its llama.cpp graph runs one.
enum class SharedExpert {
  kNone,      // never run, even if the file has its tensors (Mixtral's llama graph)
  kOptional,  // run when the file has it
  kRequired,  // a missing one is an error naming the tensor
};
// The router, the experts as 3-D tensors, the per-expert scales (*_exps.scale, bound only where
// the architecture's llama.cpp graph applies them: expert_scales), and the shared expert with
// its sigmoid gate as `shared` says.
void bind_moe(const ModelConfig& c, TensorBinder& b, int32_t il, SharedExpert shared, bool expert_scales,
              MoeWeights& m);
// The routing the metadata gives (model_config.h).
MoeRouting moe_routing(const ModelConfig& c);

}  // namespace tandem
