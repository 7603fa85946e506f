#pragma once
// The two ends of every architecture: token embeddings into the residual stream, and the final
// norm and vocabulary projection of the rows whose logits were asked for.

#include "kernels/cpu/matmul.h"
#include "model/forward_context.h"

namespace tandem {

// buf.x[t] = token_embd[buf.token[t]] * scale (scale 1: unscaled).
void embed_tokens(ForwardContext& ctx, const cpu::WeightMatrix& token_embd, float scale = 1.0f);

// buf.logits[r] = output . rms_norm(buf.x[buf.out_rows[r]]) for r < n_out. Observer site
// kOutput (layer -1).
// output_s ([1]) scales the logits and output_b ([n_vocab]) is added when given (llama.cpp's
// per-tensor scale; qwen2's optional output bias).
void output_logits(ForwardContext& ctx, const float* output_norm, const cpu::WeightMatrix& output,
                   const float* output_s = nullptr, const float* output_b = nullptr);

}  // namespace tandem
