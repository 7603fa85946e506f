// Scalar dot products of the 32-value block formats with their Q8_0 / Q8_1 activations, following
// ggml's *_generic kernels: integer sums within a block, then one float multiply-add per block in the
// same order as ggml (the order matters for bit-exact agreement).

#include <cstring>

#include "kernels/cpu/vec_dot.h"
#include "quant/fp16.h"

namespace tandem {

float vec_dot_q4_0_q8_0_scalar(const BlockQ4_0* x, const BlockQ8_0* y, int64_t n) {
  const int64_t nb = n / kQK;
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    int sumi0 = 0;
    int sumi1 = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi0 += ((x[ib].qs[j] & 0xF) - 8) * y[ib].qs[j];
      sumi1 += ((x[ib].qs[j] >> 4) - 8) * y[ib].qs[j + kQK / 2];
    }
    const int sumi = sumi0 + sumi1;
    sumf += static_cast<float>(sumi) * fp16_to_fp32(x[ib].d) * fp16_to_fp32(y[ib].d);
  }
  return sumf;
}

float vec_dot_q4_1_q8_1_scalar(const BlockQ4_1* x, const BlockQ8_1* y, int64_t n) {
  const int64_t nb = n / kQK;
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    int sumi0 = 0;
    int sumi1 = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi0 += (x[ib].qs[j] & 0xF) * y[ib].qs[j];
      sumi1 += (x[ib].qs[j] >> 4) * y[ib].qs[j + kQK / 2];
    }
    const int sumi = sumi0 + sumi1;
    // sum (d q + m) * a = d * sum q a + m * sum a, and the activation carries s = sum a.
    sumf += (fp16_to_fp32(x[ib].d) * fp16_to_fp32(y[ib].d)) * static_cast<float>(sumi) +
            fp16_to_fp32(x[ib].m) * fp16_to_fp32(y[ib].s);
  }
  return sumf;
}

namespace {
inline uint32_t load_qh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, sizeof(v));
  return v;
}
inline int q5_high_bit(uint32_t qh, int j) { return static_cast<int>((qh >> j) & 1u) << 4; }
}  // namespace

float vec_dot_q5_0_q8_0_scalar(const BlockQ5_0* x, const BlockQ8_0* y, int64_t n) {
  const int64_t nb = n / kQK;
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const uint32_t qh = load_qh(x[ib].qh);
    int sumi0 = 0;
    int sumi1 = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = ((x[ib].qs[j] & 0xF) | q5_high_bit(qh, j)) - 16;
      const int x1 = ((x[ib].qs[j] >> 4) | q5_high_bit(qh, j + kQK / 2)) - 16;
      sumi0 += x0 * y[ib].qs[j];
      sumi1 += x1 * y[ib].qs[j + kQK / 2];
    }
    const int sumi = sumi0 + sumi1;
    sumf += (fp16_to_fp32(x[ib].d) * fp16_to_fp32(y[ib].d)) * static_cast<float>(sumi);
  }
  return sumf;
}

float vec_dot_q5_1_q8_1_scalar(const BlockQ5_1* x, const BlockQ8_1* y, int64_t n) {
  const int64_t nb = n / kQK;
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    const uint32_t qh = load_qh(x[ib].qh);
    int sumi0 = 0;
    int sumi1 = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int x0 = (x[ib].qs[j] & 0xF) | q5_high_bit(qh, j);
      const int x1 = (x[ib].qs[j] >> 4) | q5_high_bit(qh, j + kQK / 2);
      sumi0 += x0 * y[ib].qs[j];
      sumi1 += x1 * y[ib].qs[j + kQK / 2];
    }
    const int sumi = sumi0 + sumi1;
    sumf += (fp16_to_fp32(x[ib].d) * fp16_to_fp32(y[ib].d)) * static_cast<float>(sumi) +
            fp16_to_fp32(x[ib].m) * fp16_to_fp32(y[ib].s);
  }
  return sumf;
}

float vec_dot_q8_0_q8_0_scalar(const BlockQ8_0* x, const BlockQ8_0* y, int64_t n) {
  const int64_t nb = n / kQK;
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[ib].qs[j] * y[ib].qs[j];
    sumf += static_cast<float>(sumi) * (fp16_to_fp32(x[ib].d) * fp16_to_fp32(y[ib].d));
  }
  return sumf;
}

// Not a ggml weight pairing; same shape as Q8_0 x Q8_0.
float vec_dot_q8_1_q8_1_scalar(const BlockQ8_1* x, const BlockQ8_1* y, int64_t n) {
  const int64_t nb = n / kQK;
  float sumf = 0;
  for (int64_t ib = 0; ib < nb; ++ib) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[ib].qs[j] * y[ib].qs[j];
    sumf += static_cast<float>(sumi) * (fp16_to_fp32(x[ib].d) * fp16_to_fp32(y[ib].d));
  }
  return sumf;
}

}  // namespace tandem
