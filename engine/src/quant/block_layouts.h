#pragma once
// Quantized block layouts exactly as ggml stores them in GGUF files (ggml-common.h is the spec).
// Every field is little-endian on disk; fp16 fields hold raw IEEE half bits (see quant/fp16.h).
// The structs are only ever read from / written to byte buffers, so they must have no padding:
// the static_asserts tie each one to the geometry in ggml_type.cpp.

#include <cstdint>

namespace tandem {

inline constexpr int kQK = 32;     // values per block of the legacy formats (Q4_0 .. Q8_1)
inline constexpr int kQK_K = 256;  // values per super-block of the K-quants
inline constexpr int kKScaleSize = 12;  // bytes of packed 6-bit scales and mins in Q4_K / Q5_K

// x = d * (q - 8), q in 0..15. qs[j] holds value j in its low nibble and value j + 16 in its high one.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};

// x = d * q + m, q in 0..15, same nibble order as Q4_0.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};

// x = d * (q - 16), q in 0..31: low 4 bits as in Q4_0, bit 4 of value j is bit j of qh (little-endian).
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};

// x = d * q + m, q in 0..31, bits as in Q5_0.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};

// x = d * q.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};

// Activation format for Q4_1 / Q5_1 dot products: s = d * sum(qs) lets the dot product fold in the
// weight's min with one multiply per block.
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};

// 16 sub-blocks of 16: x = d * (scales[i] & 0xF) * q - dmin * (scales[i] >> 4), q in 0..3.
// qs: in each half of 128 values, byte l holds values l, l + 32, l + 64, l + 96 at bit shifts 0, 2, 4, 6.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};

// 16 sub-blocks of 16: x = d * (scale_i - 32) * (q - 4 * !high_bit), q low bits in 0..3 packed as in
// Q2_K; hmask bit b of byte l is the high bit of value 32 * b + l. The sixteen 6-bit scales are packed
// into 12 bytes: low nibbles in bytes 0..7 (scale i < 8 low, i >= 8 high nibble of byte i - 8), and the
// top two bits of scale i at bits 2 * (i / 4) of byte 8 + i % 4.
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};

// 8 sub-blocks of 32: x = d * scale_i * q - dmin * min_i, q in 0..15, with 6-bit scale_i and min_i
// packed in 12 bytes (see unpack_scale_min_k4). qs: in each 64 values, byte l holds value l in its low
// nibble and value l + 32 in its high one.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qs[kQK_K / 2];
};

// As Q4_K with a fifth bit, q in 0..31: in 64-value group g, bit 2 g of qh[l] is the top bit of value
// 64 g + l and bit 2 g + 1 that of value 64 g + 32 + l.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleSize];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};

// 16 sub-blocks of 16: x = d * scales[i] * (q - 32), q in 0..63. Per half of 128 values: ql byte l
// holds values l (low) and l + 64 (high), byte l + 32 values l + 32 and l + 96; qh byte l holds the
// top two bits of values l, l + 32, l + 64, l + 96 at shifts 0, 2, 4, 6.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};

// Activation format for the K-quant dot products. d is a full float; bsums[i] = sum of qs[16 i .. 16 i + 15]
// so that the weight's per-sub-block mins fold in without touching the quants.
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block. Bytes 0..3 hold scales 0..3
// and bytes 4..7 mins 0..3 in their low 6 bits; scales/mins 4..7 take their low nibbles from bytes
// 8..11 and their top two bits from the spare top bits of bytes 0..7.
inline void unpack_scale_min_k4(int j, const uint8_t* scales, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = scales[j] & 63;
    *min = scales[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

// The signed scale (-32..31) of sub-block j (0..15) of a Q3_K block.
inline int unpack_scale_q3_k(int j, const uint8_t* scales) {
  const int low = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace tandem
