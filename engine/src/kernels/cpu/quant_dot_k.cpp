// Scalar dot products of the K-quants with Q8_K activations, following ggml's *_generic kernels.
// Q3_K .. Q6_K accumulate in eight integer lanes per super-block (value i goes to lane i % 8) and
// carry eight float partial sums across blocks, added only at the end: that structure decides the
// float rounding, so it is kept rather than collapsed into one sum.

#include <array>

#include "kernels/cpu/vec_dot.h"
#include "quant/fp16.h"

namespace tandem {
namespace {

constexpr int kLanes = 8;

// Adds scale * q8[i] * a[i] for i in [0, count) into the lanes (count is a multiple of 8).
inline void accumulate_lanes(std::array<int32_t, kLanes>& lanes, int scale, const int8_t* q8,
                             const int8_t* a, int count) {
  for (int i = 0; i < count; ++i) lanes[i % kLanes] += scale * (q8[i] * a[i]);
}

// Unpacks the 256 quants of a Q4_K / Q5_K block to 0..31 (qh null for Q4_K).
void unpack_q45_k(const uint8_t* qs, const uint8_t* qh, int8_t* a) {
  for (int g = 0; g < kQK_K / 64; ++g, qs += 32, a += 64) {
    const uint8_t m1 = static_cast<uint8_t>(1u << (2 * g));
    const uint8_t m2 = static_cast<uint8_t>(2u << (2 * g));
    for (int l = 0; l < 32; ++l) {
      a[l] = static_cast<int8_t>((qs[l] & 0xF) + (qh && (qh[l] & m1) ? 16 : 0));
      a[l + 32] = static_cast<int8_t>((qs[l] >> 4) + (qh && (qh[l] & m2) ? 16 : 0));
    }
  }
}

inline const uint8_t* high_bits(const BlockQ4_K&) { return nullptr; }
inline const uint8_t* high_bits(const BlockQ5_K& block) { return block.qh; }

// Q4_K and Q5_K share everything but the unpacking: sum d * scale_j * q * a - dmin * min_j * a,
// with the min term taken from the activation's per-16 sums.
template <typename Block>
float dot_q45_k(const Block* x, const BlockQ8_K* y, int64_t n) {
  const int64_t nb = n / kQK_K;
  std::array<float, kLanes> sums{};
  float sumf = 0;
  int8_t a[kQK_K];
  for (int64_t i = 0; i < nb; ++i) {
    unpack_q45_k(x[i].qs, high_bits(x[i]), a);
    uint8_t scales[8];
    uint8_t mins[8];
    for (int j = 0; j < 8; ++j) unpack_scale_min_k4(j, x[i].scales, &scales[j], &mins[j]);
    int sumi = 0;
    for (int j = 0; j < kQK_K / 16; ++j) sumi += y[i].bsums[j] * mins[j / 2];
    std::array<int32_t, kLanes> lanes{};
    for (int j = 0; j < kQK_K / 32; ++j) {
      accumulate_lanes(lanes, scales[j], y[i].qs + 32 * j, a + 32 * j, 32);
    }
    const float d = fp16_to_fp32(x[i].d) * y[i].d;
    for (int l = 0; l < kLanes; ++l) sums[l] += d * static_cast<float>(lanes[l]);
    const float dmin = fp16_to_fp32(x[i].dmin) * y[i].d;
    sumf -= dmin * static_cast<float>(sumi);
  }
  for (int l = 0; l < kLanes; ++l) sumf += sums[l];
  return sumf;
}

}  // namespace

float vec_dot_q2_k_q8_k_scalar(const BlockQ2_K* x, const BlockQ8_K* y, int64_t n) {
  const int64_t nb = n / kQK_K;
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* sc = x[i].scales;
    // The mins act on whole sub-blocks of 16, so the activation's bsums cover them.
    int summs = 0;
    for (int j = 0; j < kQK_K / 16; ++j) summs += y[i].bsums[j] * (sc[j] >> 4);
    const float dall = y[i].d * fp16_to_fp32(x[i].d);
    const float dmin = y[i].d * fp16_to_fp32(x[i].dmin);
    int isum = 0;
    const uint8_t* q2 = x[i].qs;
    const int8_t* q8 = y[i].qs;
    int is = 0;
    for (int half = 0; half < kQK_K / 128; ++half, q2 += 32) {
      for (int shift = 0; shift < 8; shift += 2, q8 += 32) {
        for (int part = 0; part < 2; ++part) {
          int isuml = 0;
          for (int l = 16 * part; l < 16 * part + 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
          isum += (sc[is++] & 0xF) * isuml;
        }
      }
    }
    sumf += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
  }
  return sumf;
}

float vec_dot_q3_k_q8_k_scalar(const BlockQ3_K* x, const BlockQ8_K* y, int64_t n) {
  const int64_t nb = n / kQK_K;
  std::array<float, kLanes> sums{};
  int8_t a[kQK_K];
  for (int64_t i = 0; i < nb; ++i) {
    // Value 32 b + l: two bits at shift 2 (b % 4) of qs[32 (b / 4) + l], minus 4 unless hmask bit b.
    for (int b = 0; b < kQK_K / 32; ++b) {
      const uint8_t* q3 = x[i].qs + 32 * (b / 4);
      const int shift = 2 * (b % 4);
      for (int l = 0; l < 32; ++l) {
        const int low = (q3[l] >> shift) & 3;
        a[32 * b + l] = static_cast<int8_t>(low - ((x[i].hmask[l] >> b) & 1 ? 0 : 4));
      }
    }
    std::array<int32_t, kLanes> lanes{};
    for (int j = 0; j < kQK_K / 16; ++j) {
      accumulate_lanes(lanes, unpack_scale_q3_k(j, x[i].scales), y[i].qs + 16 * j, a + 16 * j, 16);
    }
    const float d = fp16_to_fp32(x[i].d) * y[i].d;
    for (int l = 0; l < kLanes; ++l) sums[l] += d * static_cast<float>(lanes[l]);
  }
  float sumf = 0;
  for (int l = 0; l < kLanes; ++l) sumf += sums[l];
  return sumf;
}

float vec_dot_q4_k_q8_k_scalar(const BlockQ4_K* x, const BlockQ8_K* y, int64_t n) {
  return dot_q45_k(x, y, n);
}

float vec_dot_q5_k_q8_k_scalar(const BlockQ5_K* x, const BlockQ8_K* y, int64_t n) {
  return dot_q45_k(x, y, n);
}

float vec_dot_q6_k_q8_k_scalar(const BlockQ6_K* x, const BlockQ8_K* y, int64_t n) {
  const int64_t nb = n / kQK_K;
  std::array<float, kLanes> sums{};
  int8_t a[kQK_K];
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    for (int half = 0; half < kQK_K / 128; ++half, ql += 64, qh += 32) {
      int8_t* out = a + 128 * half;
      for (int l = 0; l < 32; ++l) {
        out[l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        out[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        out[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        out[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    std::array<int32_t, kLanes> lanes{};
    for (int j = 0; j < kQK_K / 16; ++j) {
      accumulate_lanes(lanes, x[i].scales[j], y[i].qs + 16 * j, a + 16 * j, 16);
    }
    const float d = fp16_to_fp32(x[i].d) * y[i].d;
    for (int l = 0; l < kLanes; ++l) sums[l] += d * static_cast<float>(lanes[l]);
  }
  float sumf = 0;
  for (int l = 0; l < kLanes; ++l) sumf += sums[l];
  return sumf;
}

// Not a ggml weight pairing (Q8_K is activation-only there); a plain per-block integer dot.
float vec_dot_q8_k_q8_k_scalar(const BlockQ8_K* x, const BlockQ8_K* y, int64_t n) {
  const int64_t nb = n / kQK_K;
  float sumf = 0;
  for (int64_t i = 0; i < nb; ++i) {
    int sumi = 0;
    for (int j = 0; j < kQK_K; ++j) sumi += x[i].qs[j] * y[i].qs[j];
    sumf += static_cast<float>(sumi) * (x[i].d * y[i].d);
  }
  return sumf;
}

}  // namespace tandem
