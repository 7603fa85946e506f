#include "kernels/cpu/quantize_activations.h"

#include <cmath>

#include "core/check.h"
#include "kernels/cpu/cpu_features.h"
#include "quant/block_layouts.h"
#include "quant/fp16.h"
#include "quant/quantize.h"
#include "quant/rounding.h"

namespace tandem::cpu {
namespace {

// One block of 32: returns the sum of the quantized values (for Q8_1's s).
int quantize_block_q8(const float* x, int8_t* qs, float* d_out) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    qs[j] = static_cast<int8_t>(nearest_int(x[j] * id));
    sum += qs[j];
  }
  *d_out = d;
  return sum;
}

}  // namespace

void quantize_activations(GgmlType type, const float* x, void* dst, int64_t n) {
  if (active_isa_level() >= IsaLevel::kAvx512Vnni && n % ggml_type_traits(type).block_size == 0 &&
      quantize_activations_avx512(type, x, dst, n)) {
    return;
  }
  quantize_activations_scalar(type, x, dst, n);
}

void quantize_activations_scalar(GgmlType type, const float* x, void* dst, int64_t n) {
  if (type == GgmlType::Q8_0) {
    TANDEM_CHECK(n % kQK == 0);
    auto* y = static_cast<BlockQ8_0*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b) {
      float d = 0.0f;
      quantize_block_q8(x + b * kQK, y[b].qs, &d);
      y[b].d = fp32_to_fp16(d);
    }
  } else if (type == GgmlType::Q8_1) {
    TANDEM_CHECK(n % kQK == 0);
    auto* y = static_cast<BlockQ8_1*>(dst);
    for (int64_t b = 0; b < n / kQK; ++b) {
      float d = 0.0f;
      const int sum = quantize_block_q8(x + b * kQK, y[b].qs, &d);
      y[b].d = fp32_to_fp16(d);
      y[b].s = fp32_to_fp16(d * static_cast<float>(sum));
    }
  } else {
    quantize_row(type, x, dst, n);
  }
}

}  // namespace tandem::cpu
