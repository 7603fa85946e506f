#include "quantize/weighted_quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "quant/block_layouts.h"
#include "quant/fp16.h"
#include "quant/quantize.h"

namespace tandem::quantize {
namespace {

// How much each value counts: its column's importance times its own size, so that within one
// block the large values (which dominate a dot product) are reproduced best. sigma2 keeps small
// values from counting for nothing.
void value_weights(const float* x, const float* importance, int64_t n, float* w) {
  double sum_sq = 0.0;
  for (int64_t j = 0; j < n; ++j) sum_sq += static_cast<double>(x[j]) * x[j];
  const float sigma2 = static_cast<float>(2.0 * sum_sq / static_cast<double>(n));
  for (int64_t j = 0; j < n; ++j) w[j] = importance[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

int round_clamp(float v, int lo, int hi) { return std::clamp(static_cast<int>(std::lround(v)), lo, hi); }

// Symmetric levels: x ~ d * l with l in [lo, hi]. Tries scales around the one that maps the
// extreme value to either end of the range, refits d by weighted least squares for each choice of
// levels and keeps the smallest weighted error. Returns d; levels in l.
float fit_symmetric(const float* x, const float* w, int n, int lo, int hi, int* l) {
  float amax = 0.0f;
  float extreme = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      extreme = x[j];
    }
  }
  if (amax == 0.0f) {
    for (int j = 0; j < n; ++j) l[j] = 0;
    return 0.0f;
  }
  float best_err = INFINITY;
  float best_d = extreme / static_cast<float>(lo);
  int trial[kQK_K];
  for (int end = 0; end < 2; ++end) {
    const float level = end == 0 ? static_cast<float>(lo) : static_cast<float>(hi);
    for (int step = -8; step <= 8; ++step) {
      const float denom = level + (level < 0 ? -0.1f : 0.1f) * static_cast<float>(step);
      if (denom == 0.0f) continue;
      const float d0 = extreme / denom;
      const float id = 1.0f / d0;
      double sxl = 0.0;
      double sll = 0.0;
      for (int j = 0; j < n; ++j) {
        trial[j] = round_clamp(x[j] * id, lo, hi);
        sxl += static_cast<double>(w[j]) * x[j] * trial[j];
        sll += static_cast<double>(w[j]) * trial[j] * trial[j];
      }
      if (sll <= 0.0) continue;
      const float d = static_cast<float>(sxl / sll);
      double err = 0.0;
      for (int j = 0; j < n; ++j) {
        const float diff = x[j] - d * static_cast<float>(trial[j]);
        err += static_cast<double>(w[j]) * diff * diff;
      }
      if (err < best_err) {
        best_err = static_cast<float>(err);
        best_d = d;
      }
    }
  }
  const float id = best_d != 0.0f ? 1.0f / best_d : 0.0f;
  for (int j = 0; j < n; ++j) l[j] = round_clamp(x[j] * id, lo, hi);
  return best_d;
}

// Affine levels: x ~ d * l + m with l in [0, hi]. With min_nonpositive the offset is kept <= 0,
// as the K-quants store it as -dmin * min. Alternates between choosing levels and a weighted
// least-squares (d, m), from several starting ranges.
void fit_affine(const float* x, const float* w, int n, int hi, bool min_nonpositive, float* d_out, float* m_out) {
  float min = x[0];
  float max = x[0];
  for (int j = 1; j < n; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  if (min_nonpositive) min = std::min(min, 0.0f);
  if (max == min) {
    *d_out = 0.0f;
    *m_out = min;
    return;
  }
  float best_err = INFINITY;
  float best_d = (max - min) / static_cast<float>(hi);
  float best_m = min;
  int l[kQK_K];
  for (int step = -4; step <= 4; ++step) {
    float d = (max - min) / (static_cast<float>(hi) + 0.25f * static_cast<float>(step));
    float m = min;
    for (int iter = 0; iter < 3; ++iter) {
      if (d <= 0.0f) break;
      const float id = 1.0f / d;
      double sw = 0, swl = 0, swll = 0, swx = 0, swlx = 0;
      for (int j = 0; j < n; ++j) {
        l[j] = round_clamp((x[j] - m) * id, 0, hi);
        const double wj = w[j];
        sw += wj;
        swl += wj * l[j];
        swll += wj * l[j] * l[j];
        swx += wj * x[j];
        swlx += wj * l[j] * x[j];
      }
      const double det = sw * swll - swl * swl;
      double nd = d;
      double nm = m;
      if (det > 0.0) {
        nd = (sw * swlx - swl * swx) / det;
        nm = (swll * swx - swl * swlx) / det;
      }
      if (min_nonpositive && nm > 0.0) {
        nm = 0.0;
        nd = swll > 0.0 ? swlx / swll : d;
      }
      double err = 0.0;
      for (int j = 0; j < n; ++j) {
        const double diff = x[j] - nd * l[j] - nm;
        err += w[j] * diff * diff;
      }
      if (err < best_err && nd > 0.0) {
        best_err = static_cast<float>(err);
        best_d = static_cast<float>(nd);
        best_m = static_cast<float>(nm);
      }
      d = static_cast<float>(nd);
      m = static_cast<float>(nm);
    }
  }
  *d_out = best_d;
  *m_out = best_m;
}

// Levels for given (already rounded) d and m.
void levels_affine(const float* x, int n, int hi, float d, float m, int* l) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < n; ++j) l[j] = round_clamp((x[j] - m) * id, 0, hi);
}

void pack_nibbles(const int* q, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + kQK / 2] & 0xF) << 4));
}

void pack_high_bits(const int* q, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK; ++j) qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  for (int b = 0; b < 4; ++b) qh_bytes[b] = static_cast<uint8_t>(qh >> (8 * b));
}

// Q4_0 / Q5_0: x = d * (q - offset).
template <typename Block>
void quantize_symmetric_32(const float* x, const float* w, Block* y, int64_t nb, int bits) {
  const int offset = 1 << (bits - 1);
  int l[kQK];
  for (int64_t i = 0; i < nb; ++i, x += kQK, w += kQK) {
    const float d = fit_symmetric(x, w, kQK, -offset, offset - 1, l);
    y[i].d = fp32_to_fp16(d);
    const float dr = fp16_to_fp32(y[i].d);
    const float id = dr != 0.0f ? 1.0f / dr : 0.0f;
    for (int j = 0; j < kQK; ++j) l[j] = round_clamp(x[j] * id, -offset, offset - 1) + offset;
    pack_nibbles(l, y[i].qs);
    if constexpr (requires { y[i].qh; }) pack_high_bits(l, y[i].qh);
  }
}

// Q4_1 / Q5_1: x = d * q + m.
template <typename Block>
void quantize_affine_32(const float* x, const float* w, Block* y, int64_t nb, int bits) {
  const int hi = (1 << bits) - 1;
  int l[kQK];
  for (int64_t i = 0; i < nb; ++i, x += kQK, w += kQK) {
    float d = 0.0f;
    float m = 0.0f;
    fit_affine(x, w, kQK, hi, false, &d, &m);
    y[i].d = fp32_to_fp16(d);
    y[i].m = fp32_to_fp16(m);
    levels_affine(x, kQK, hi, fp16_to_fp32(y[i].d), fp16_to_fp32(y[i].m), l);
    pack_nibbles(l, y[i].qs);
    if constexpr (requires { y[i].qh; }) pack_high_bits(l, y[i].qh);
  }
}

// The 6-bit integers that best express values v[0..n) as d * q (q in 0..63, d >= 0), weighted.
float fit_unsigned_6bit(const float* v, const float* weight, int n, int* q) {
  float max = 0.0f;
  for (int i = 0; i < n; ++i) max = std::max(max, v[i]);
  if (max <= 0.0f) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    return 0.0f;
  }
  float best_err = INFINITY;
  float best_d = max / 63.0f;
  for (int step = -6; step <= 6; ++step) {
    const float d = max / (63.0f + 0.5f * static_cast<float>(step));
    double err = 0.0;
    for (int i = 0; i < n; ++i) {
      const float diff = v[i] - d * static_cast<float>(round_clamp(v[i] / d, 0, 63));
      err += static_cast<double>(weight[i]) * diff * diff;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_d = d;
    }
  }
  for (int i = 0; i < n; ++i) q[i] = round_clamp(v[i] / best_d, 0, 63);
  return best_d;
}

// Q4_K / Q5_K: 8 sub-blocks of 32, x = d * sc_i * q - dmin * m_i.
template <typename Block>
void quantize_k_affine(const float* x, const float* w, Block* y, int64_t nb, int bits) {
  const int hi = (1 << bits) - 1;
  constexpr int kSub = 8;
  for (int64_t i = 0; i < nb; ++i, x += kQK_K, w += kQK_K) {
    float scale[kSub];
    float neg_min[kSub];
    float sub_weight[kSub];
    for (int s = 0; s < kSub; ++s) {
      float d = 0.0f;
      float m = 0.0f;
      fit_affine(x + 32 * s, w + 32 * s, 32, hi, true, &d, &m);
      scale[s] = d;
      neg_min[s] = -m;
      sub_weight[s] = 0.0f;
      for (int j = 0; j < 32; ++j) sub_weight[s] += w[32 * s + j];
    }
    int sc[kSub];
    int mn[kSub];
    const float d = fit_unsigned_6bit(scale, sub_weight, kSub, sc);
    const float dmin = fit_unsigned_6bit(neg_min, sub_weight, kSub, mn);
    y[i].d = fp32_to_fp16(d);
    y[i].dmin = fp32_to_fp16(dmin);
    const float dr = fp16_to_fp32(y[i].d);
    const float dminr = fp16_to_fp32(y[i].dmin);
    for (int j = 0; j < 4; ++j) {
      y[i].scales[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
      y[i].scales[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
      y[i].scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
    int q[kQK_K];
    for (int s = 0; s < kSub; ++s) {
      levels_affine(x + 32 * s, 32, hi, dr * static_cast<float>(sc[s]), -dminr * static_cast<float>(mn[s]), q + 32 * s);
    }
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * g + l];
        const int up = q[64 * g + 32 + l];
        y[i].qs[32 * g + l] = static_cast<uint8_t>((lo & 0xF) | ((up & 0xF) << 4));
      }
    }
    if constexpr (requires { y[i].qh; }) {
      std::memset(y[i].qh, 0, sizeof(y[i].qh));
      for (int g = 0; g < 4; ++g) {
        for (int l = 0; l < 32; ++l) {
          y[i].qh[l] |= static_cast<uint8_t>(((q[64 * g + l] >> 4) & 1) << (2 * g));
          y[i].qh[l] |= static_cast<uint8_t>(((q[64 * g + 32 + l] >> 4) & 1) << (2 * g + 1));
        }
      }
    }
  }
}

// Q6_K: 16 sub-blocks of 16, x = d * sc_i * (q - 32), sc_i a signed byte.
void quantize_q6_k_weighted(const float* x, const float* w, BlockQ6_K* y, int64_t nb) {
  constexpr int kSub = 16;
  for (int64_t i = 0; i < nb; ++i, x += kQK_K, w += kQK_K) {
    float scale[kSub];
    int l[16];
    float amax = 0.0f;
    for (int s = 0; s < kSub; ++s) {
      scale[s] = fit_symmetric(x + 16 * s, w + 16 * s, 16, -32, 31, l);
      amax = std::max(amax, std::fabs(scale[s]));
    }
    const float d = amax / 127.0f;
    y[i].d = fp32_to_fp16(d);
    const float dr = fp16_to_fp32(y[i].d);
    int q[kQK_K];
    for (int s = 0; s < kSub; ++s) {
      const int sc = dr != 0.0f ? round_clamp(scale[s] / dr, -128, 127) : 0;
      y[i].scales[s] = static_cast<int8_t>(sc);
      const float step = dr * static_cast<float>(sc);
      const float id = step != 0.0f ? 1.0f / step : 0.0f;
      for (int j = 0; j < 16; ++j) q[16 * s + j] = round_clamp(x[16 * s + j] * id, -32, 31) + 32;
    }
    for (int half = 0; half < 2; ++half) {
      const int* qq = q + 128 * half;
      uint8_t* ql = y[i].ql + 64 * half;
      uint8_t* qh = y[i].qh + 32 * half;
      for (int j = 0; j < 32; ++j) {
        ql[j] = static_cast<uint8_t>((qq[j] & 0xF) | ((qq[j + 64] & 0xF) << 4));
        ql[j + 32] = static_cast<uint8_t>((qq[j + 32] & 0xF) | ((qq[j + 96] & 0xF) << 4));
        qh[j] = static_cast<uint8_t>((qq[j] >> 4) | ((qq[j + 32] >> 4) << 2) | ((qq[j + 64] >> 4) << 4) |
                                     ((qq[j + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace

bool uses_importance(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return true;
    default: return false;
  }
}

void quantize_row_weighted(GgmlType type, const float* x, void* dst, int64_t n, const float* importance) {
  if (importance == nullptr || !uses_importance(type)) {
    quantize_row(type, x, dst, n);
    return;
  }
  const int64_t block = ggml_type_traits(type).block_size;
  TANDEM_CHECK(n % block == 0);
  std::vector<float> w(static_cast<size_t>(n));
  value_weights(x, importance, n, w.data());
  const int64_t nb = n / block;
  switch (type) {
    case GgmlType::Q4_0: return quantize_symmetric_32(x, w.data(), static_cast<BlockQ4_0*>(dst), nb, 4);
    case GgmlType::Q5_0: return quantize_symmetric_32(x, w.data(), static_cast<BlockQ5_0*>(dst), nb, 5);
    case GgmlType::Q4_1: return quantize_affine_32(x, w.data(), static_cast<BlockQ4_1*>(dst), nb, 4);
    case GgmlType::Q5_1: return quantize_affine_32(x, w.data(), static_cast<BlockQ5_1*>(dst), nb, 5);
    case GgmlType::Q4_K: return quantize_k_affine(x, w.data(), static_cast<BlockQ4_K*>(dst), nb, 4);
    case GgmlType::Q5_K: return quantize_k_affine(x, w.data(), static_cast<BlockQ5_K*>(dst), nb, 5);
    case GgmlType::Q6_K: return quantize_q6_k_weighted(x, w.data(), static_cast<BlockQ6_K*>(dst), nb);
    default: TANDEM_CHECK_MSG(false, "quantize_row_weighted: unexpected type");
  }
}

}  // namespace tandem::quantize
