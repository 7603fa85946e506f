#pragma once
// Weights repacked at load time for the AVX-512 VNNI kernels, as llama.cpp repacks Q4_0 and Q4_K.
//
// In a GGUF file each row's blocks are contiguous and every block carries its own F16 scale, so a
// kernel reading one row at a time converts one scale per 32 weights and reduces a vector per
// block, which bounds batch-1 decoding well below memory bandwidth. The packed layout interleaves
// kPackRows rows block by block, eight bytes of each row at a time (llama.cpp's "8x8" repacking):
// one 512-bit register then holds 8 values of each of the eight rows, and with an activation's
// matching 8 values broadcast to every 64-bit lane one VNNI instruction adds to all eight rows'
// sums. Lanes 2r and 2r + 1 belong to row r throughout, so the eight scales of a block apply as one
// vector. Per group of eight rows, block b holds:
//
//   Q4_0  d[8] f16 | 2 chunks of 64 bytes: chunk c = each row's qs[8c .. 8c + 7] in row order
//         (low nibbles: values 8c + j, high nibbles: values 16 + 8c + j)
//   Q4_1  d[8] f16 | m[8] f16 | the same 2 chunks
//   Q5_0  d[8] f16 | qh: 4 x 8 bytes, byte r of mask k = row r's qh byte k | the Q4_0 chunks
//   Q5_1  d[8] f16 | m[8] f16 | qh as Q5_0 | the Q4_0 chunks
//   Q8_0  d[8] f16 | 4 chunks of 64 bytes: chunk k = each row's values 8k .. 8k + 7 + 128
//
// Q4_K super-blocks (256 values, eight sub-blocks of 32 with 6-bit scales and mins) keep the
// same chunking, with the scales unpacked to bytes (kPackedQ4_K below); that costs 32 bytes per
// 1152 (2.8%) and spares the kernel the 6-bit unpacking. Q6_K splits each 6-bit value into a
// nibble chunk and a 2-bit chunk (kPackedQ6_K).
//
// Values stay unsigned so VNNI's unsigned x signed product takes them as they are; the offset
// (8, 16 or 128 per value) comes off through the activation block's integer sum. The integer
// block sums are exactly the scalar references'; only float order differs. The byte count equals
// the file's, so packing moves memory rather than adding it (the file pages are released).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/cpu_features.h"
#include "quant/ggml_type.h"

namespace tandem::cpu {

inline constexpr int kPackRows = 8;

// Byte offsets within one packed block (kPackRows rows x 32 values). Plain constants, so the
// ISA-specific kernel file can use them without sharing code with baseline files.
struct PackedLayout {
  size_t d;       // kPackRows F16 scales
  size_t m;       // kPackRows F16 minimums (Q4_1, Q5_1), else 0
  size_t qh;      // kPackRows x 4 bytes of fifth bits (Q5_0, Q5_1), else 0
  size_t qs;      // quants
  size_t bytes;   // the whole block: kPackRows times the file's block size
  int offset;     // what the stored unsigned values exceed the signed ones by (0 with a minimum)
};
inline constexpr PackedLayout kPackedQ4_0{0, 0, 0, 16, 144, 8};
inline constexpr PackedLayout kPackedQ4_1{0, 16, 0, 32, 160, 0};
inline constexpr PackedLayout kPackedQ5_0{0, 0, 16, 48, 176, 16};
inline constexpr PackedLayout kPackedQ5_1{0, 16, 32, 64, 192, 0};
inline constexpr PackedLayout kPackedQ8_0{0, 0, 0, 16, 272, 128};

// One packed Q4_K super-block of kPackRows rows.
struct PackedLayoutK {
  size_t d;       // kPackRows F16 super-block scales
  size_t dmin;    // kPackRows F16 super-block min scales
  size_t scales;  // byte [8 j + r]: sub-block j's scale for row r
  size_t mins;    // byte [16 p + 2 r + h]: sub-block 2p + h's min for row r
  size_t qs;      // 4 groups of 4 chunks: chunk c of group g = each row's qs[32g + 8c .. 32g + 8c + 7]
  size_t bytes;
};
inline constexpr PackedLayoutK kPackedQ4_K{0, 16, 32, 96, 160, 1184};

// One packed Q6_K super-block of kPackRows rows (the file's byte count). With v the 6-bit values
// 0..63 and register k meaning values 8k .. 8k + 7 of every row:
struct PackedLayoutQ6K {
  size_t d;       // kPackRows F16 scales
  size_t scales;  // int8 [8 s + r]: sub-block s's (16 values) scale for row r
  size_t low;     // 16 chunks of 64 bytes, byte 8r + j of chunk c: low four bits of register c
                  // (low nibble) and of register c + 16 (high nibble)
  size_t high;    // 8 chunks of 64 bytes, byte 8r + j of chunk e: top two bits of register
                  // e + 8i at bit 2i, i = 0..3
  size_t bytes;
};
inline constexpr PackedLayoutQ6K kPackedQ6_K{0, 16, 144, 1168, 1680};

// Whether matmul has packed kernels for this weight type at this ISA level.
bool has_packed_kernel(GgmlType type, IsaLevel level);

// Bytes of one packed group of kPackRows rows of n_in values.
size_t packed_group_bytes(GgmlType type, int64_t n_in);

// Packs the first n_groups * kPackRows rows of a matrix (rows row_bytes apart) into out, which
// holds n_groups * packed_group_bytes(type, n_in) bytes. type must be Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q4_K or Q6_K.
void pack_rows(GgmlType type, const uint8_t* rows, size_t row_bytes, int64_t n_in, int64_t n_groups, uint8_t* out);

// out[t * out_stride + r] = row r of the group . activation t, for r < kPackRows and t < n_tok
// (1 <= n_tok <= kMaxTileTokens). act as for RowDotFn (dot_kernels.h).
using PackedDotFn = void (*)(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, int n_tok,
                             float* out, size_t out_stride);

// The kernel for packed groups of this type at this level; null where there is none.
PackedDotFn packed_dot_kernel(GgmlType type, IsaLevel level);

// Defined in packed_dot_avx512.cpp, built for AVX-512 VNNI; call only when the CPU has it.
PackedDotFn packed_dot_kernel_avx512(GgmlType type);

}  // namespace tandem::cpu
