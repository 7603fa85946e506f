#pragma once
// RMS norm over rows of a batch (Zhang & Sennrich, arXiv:1910.07467), in parallel when there
// are enough rows.

#include <cstdint>

#include "model/forward_context.h"

namespace tandem {

// y[r] = rms_norm(x[r]) * weight for n_rows rows of width n; y may be x.
void rms_norm_rows(ForwardContext& ctx, const float* x, const float* weight, float* y, int64_t n_rows, int64_t n);

// The residual: x += y over the batch's rows of n_embd.
void add_residual(ForwardContext& ctx, const float* y);

}  // namespace tandem
