#include "model/layers/embedding.h"

#include "kernels/cpu/elementwise.h"

namespace tandem {

void embed_tokens(ForwardContext& ctx, const cpu::WeightMatrix& token_embd, float scale) {
  const int64_t d = ctx.config.n_embd;
  for (int32_t t = 0; t < ctx.n_tokens; ++t) {
    float* row = ctx.buf.x.data() + t * d;
    cpu::get_row(token_embd, ctx.buf.token[static_cast<size_t>(t)], row);
    if (scale != 1.0f) cpu::scale(row, scale, d);
  }
}

void output_logits(ForwardContext& ctx, const float* output_norm, const cpu::WeightMatrix& output,
                   const float* output_s, const float* output_b) {
  ForwardBuffers& s = ctx.buf;
  const int64_t d = ctx.config.n_embd;
  for (int32_t r = 0; r < ctx.n_out; ++r) {
    const int32_t t = s.out_rows[static_cast<size_t>(r)];
    cpu::rms_norm(s.x.data() + t * d, output_norm, s.xn.data() + r * d, d, ctx.config.rms_eps);
  }
  ctx.observe(-1, MatmulSite::kOutput, s.xn.data(), ctx.n_out, d);
  // Logit rows grow to the most ever asked for (one per sequence when decoding; every token only
  // for evaluate), not to max_tokens up front: 512 rows of a 32k vocabulary are 64 MiB.
  const size_t logit_floats = static_cast<size_t>(ctx.n_out) * static_cast<size_t>(output.n_out);
  if (s.logits.size() < logit_floats) s.logits.resize(logit_floats);
  cpu::matmul(output, s.xn.data(), s.logits.data(), ctx.n_out, s.scratch, ctx.pool);
  for (int32_t r = 0; r < ctx.n_out && (output_s || output_b); ++r) {
    float* row = s.logits.data() + static_cast<size_t>(r) * static_cast<size_t>(output.n_out);
    if (output_s) cpu::scale(row, *output_s, output.n_out);
    if (output_b) cpu::add(row, output_b, output.n_out);
  }
}

}  // namespace tandem
