#pragma once
// IEEE half (fp16) and bfloat16 conversions in portable integer code. They reproduce what ggml gets
// from the F16C instructions (round to nearest even, NaN kept quiet) so that scales written by our
// quantizers are bit-identical to llama.cpp's and numpy's.

#include <bit>
#include <cstdint>

namespace tandem {

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) {  // inf or NaN: keep the payload
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  if (exponent != 0) {  // normal: re-bias 15 -> 127
    return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
  if (mantissa == 0) return std::bit_cast<float>(sign);
  // Subnormal half: shift the leading one into the implicit bit position; every such value is a
  // normal float.
  uint32_t e = 113;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (e << 23) | ((mantissa & 0x3FFu) << 13));
}

inline uint16_t fp32_to_fp16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {  // NaN: quiet it, keep the top of the payload
    return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
  }
  if (abs >= 0x477FF000u) {  // >= 65520 rounds past the largest half (65504): inf
    return static_cast<uint16_t>(sign | 0x7C00u);
  }
  if (abs >= 0x38800000u) {  // >= 2^-14: a normal half
    // Re-bias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even; a
    // carry out of the mantissa correctly bumps the exponent.
    const uint32_t odd = (abs >> 13) & 1u;
    return static_cast<uint16_t>(sign | ((abs - 0x38000000u + 0xFFFu + odd) >> 13));
  }
  // Subnormal half (or zero): the result counts units of 2^-24.
  const uint32_t exponent = abs >> 23;
  if (exponent < 102) return sign;  // below 2^-25: rounds to zero
  const uint32_t mantissa = (abs & 0x7FFFFFu) | 0x800000u;  // value = mantissa * 2^(exponent-150)
  const uint32_t shift = 126 - exponent;                    // 14..24
  uint32_t q = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1u))) ++q;  // may carry into the smallest normal: fine
  return static_cast<uint16_t>(sign | q);
}

inline float bf16_to_fp32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

inline uint16_t fp32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: truncate and force the quiet bit, as ggml does
    return static_cast<uint16_t>((x >> 16) | 64u);
  }
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace tandem
