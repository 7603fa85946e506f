#pragma once
// Weights repacked at load time for the AVX-512 VNNI kernels, as llama.cpp repacks Q4_0 and Q4_K.
//
// In a GGUF file each row's blocks are contiguous and every block carries its own F16 scale, so a
// kernel reading one row at a time converts one scale per 32 weights and sums into one
// accumulator chain, which bounds batch-1 decoding well below memory bandwidth. The packed layout
// interleaves kPackRows rows block by block: for block b of a group of eight rows, their eight
// scales sit together (one F16 -> F32 conversion for all of them) followed by their quants, laid
// out so that one 512-bit register holds two rows' 32 values:
//
//   Q4_0  d[8] f16 | 4 x 32 bytes: byte j of pair p = value j of row 2p | value j of row 2p+1 << 4
//   Q4_1  d[8] f16 | m[8] f16 | the same 4 x 32 bytes
//   Q5_0  d[8] f16 | qh: 8 x 4 bytes, row r's fifth bits | the Q4 layout of the low four bits
//   Q5_1  d[8] f16 | m[8] f16 | qh as Q5_0 | the same low four bits
//   Q8_0  d[8] f16 | 8 x 32 bytes: row r's values as unsigned bytes (value + 128)
//
// Values stay unsigned so VNNI's unsigned x signed product takes them as they are; the offset
// (8 or 128 per value) comes off once per activation block, shared by all rows. The integer
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

// Whether matmul has packed kernels for this weight type at this ISA level.
bool has_packed_kernel(GgmlType type, IsaLevel level);

// Bytes of one packed group of kPackRows rows of n_in values.
size_t packed_group_bytes(GgmlType type, int64_t n_in);

// Packs the first n_groups * kPackRows rows of a matrix (rows row_bytes apart) into out, which
// holds n_groups * packed_group_bytes(type, n_in) bytes. type must be Q4_0, Q4_1, Q5_0, Q5_1 or
// Q8_0.
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
