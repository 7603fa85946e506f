#pragma once
// Weights repacked at load time for the AVX-512 VNNI kernels, as llama.cpp repacks Q4_0 and Q4_K.
//
// In a GGUF file each row's blocks are contiguous and every block carries its own F16 scale, so a
// kernel reading one row at a time converts one scale per 32 weights and reduces a vector per
// block, which bounds batch-1 decoding well below memory bandwidth. The packed layouts interleave
// a group of rows block by block, a few bytes of each row at a time, so that every 32-bit lane of
// a 512-bit register belongs to one row and a VNNI instruction adds to every row's sum at once
// (the activation's matching bytes are broadcast). The rows' scales of a block then apply as one
// vector, and nothing is reduced across lanes until the end of the row.
//
// The legacy types (32-value blocks) use groups of kPackRowsLegacy = 16 rows, four bytes of each
// row at a time: lane r is row r. Per group, block b holds:
//
//   Q4_0  d[16] f16 | 4 chunks of 64 bytes: byte 4r + j of chunk c = row r's qs[4c + j]
//         (low nibbles: values 4c + j, high nibbles: values 16 + 4c + j)
//   Q4_1  d[16] f16 | m[16] f16 | the same 4 chunks
//   Q5_0  d[16] f16 | qh: 8 masks of 64 bits, bit 4r + j of mask k = fifth bit of row r's value
//         4k + j | the Q4_0 chunks
//   Q5_1  d[16] f16 | m[16] f16 | qh as Q5_0 | the Q4_0 chunks
//   Q8_0  d[16] f16 | 8 chunks of 64 bytes: byte 4r + j of chunk k = row r's value 4k + j + 128
//
// The K-quants (256-value super-blocks) use groups of kPackRowsK = 8 rows, eight bytes of each
// row at a time (llama.cpp's "8x8" repacking): lanes 2r and 2r + 1 are row r. Q4_K unpacks its
// 6-bit scales to bytes (kPackedQ4_K below), which costs 32 bytes per 1152 (2.8%) and spares the
// kernel the unpacking; Q6_K keeps three of every four 6-bit values in a byte's low bits and
// spreads the fourth over their top bits (kPackedQ6_K).
//
// Values stay unsigned so VNNI's unsigned x signed product takes them as they are; the offset
// (8, 16 or 128 per value) comes off through the activation block's integer sum. The integer
// block sums are exactly the scalar references'; only float order differs. The byte count equals
// the file's (Q4_K: 2.8% more), so packing moves memory rather than adding it (the file pages
// are released).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/cpu_features.h"
#include "quant/ggml_type.h"

namespace tandem::cpu {

inline constexpr int kPackRowsLegacy = 16;
inline constexpr int kPackRowsK = 8;

// Rows per packed group of a type: kPackRowsLegacy or kPackRowsK.
int packed_group_rows(GgmlType type);

// Byte offsets within one packed legacy block (kPackRowsLegacy rows x 32 values). Plain
// constants, so the ISA-specific kernel file can use them without sharing code with baseline
// files.
struct PackedLayout {
  size_t d;       // 16 F16 scales
  size_t m;       // 16 F16 minimums (Q4_1, Q5_1), else 0
  size_t qh;      // 8 x 8 bytes of fifth bits (Q5_0, Q5_1), else 0
  size_t qs;      // quants
  size_t bytes;   // the whole block: 16 times the file's block size
  int offset;     // what the stored unsigned values exceed the signed ones by (0 with a minimum)
};
inline constexpr PackedLayout kPackedQ4_0{0, 0, 0, 32, 288, 8};
inline constexpr PackedLayout kPackedQ4_1{0, 32, 0, 64, 320, 0};
inline constexpr PackedLayout kPackedQ5_0{0, 0, 32, 96, 352, 16};
inline constexpr PackedLayout kPackedQ5_1{0, 32, 64, 128, 384, 0};
inline constexpr PackedLayout kPackedQ8_0{0, 0, 0, 32, 544, 128};

// One packed Q4_K super-block of kPackRowsK rows.
// Register (g, k), g = 0..3, k = 0..7, holds in lane 2r + h (bytes 4(2r + h) .. + 3) row r's
// values 4k .. 4k + 3 of sub-block 2g + h: one integer sum covers a pair of sub-blocks before
// their scales (loaded as stored) apply.
struct PackedLayoutK {
  size_t d;       // kPackRowsK F16 super-block scales
  size_t dmin;    // kPackRowsK F16 super-block min scales
  size_t scales;  // byte [16 g + 2 r + h]: sub-block 2g + h's scale for row r
  size_t mins;    // byte [16 g + 2 r + h]: sub-block 2g + h's min for row r
  size_t qs;      // 4 chunks of 64 bytes per g: chunk c holds register (g, c) in its low nibbles,
                  // (g, c + 4) in its high ones
  size_t bytes;
};
inline constexpr PackedLayoutK kPackedQ4_K{0, 16, 32, 96, 160, 1184};

// One packed Q6_K super-block of kPackRowsK rows (the file's byte count). Each register pairs two
// sub-blocks 32 values apart: register (p, q), p = 2g + i (g = 0..3, i = 0, 1), q = 0..3, holds in
// lane 2r + h (bytes 4(2r + h) .. + 3) row r's 6-bit values 4q .. 4q + 3 (0..63) of sub-block
// 4g + i + 2h, i.e. values 64g + 32h + 4(4i + q) + j: the same activation bytes as Q4_K's
// register (g, 4i + q), so both kernels read one reordered copy of the activations
// (add_packed_activation_tables). One integer sum covers two sub-blocks and four registers
// before its scales apply, and the scales of a pair load as they are.
struct PackedLayoutQ6K {
  size_t d;       // kPackRowsK F16 scales
  size_t scales;  // int8 [16 p + 2 r + h]: the scale of row r's sub-block of lane 2r + h
  size_t qs;      // per pair p, 3 chunks of 64 bytes: chunk q holds register (p, q) in bits 0-5 and
                  // bits 2q, 2q + 1 of register (p, 3) in bits 6-7 (three ANDs and a few shifts
                  // unpack the four registers; nibble and 2-bit planes took twice the work)
  size_t bytes;
};
inline constexpr PackedLayoutQ6K kPackedQ6_K{0, 16, 144, 1680};

// Whether matmul has packed kernels for this weight type at this ISA level.
bool has_packed_kernel(GgmlType type, IsaLevel level);

// Bytes of one packed group of packed_group_rows(type) rows of n_in values.
size_t packed_group_bytes(GgmlType type, int64_t n_in);

// Asks the kernel for 2 MiB pages under the whole 2 MiB pieces of [begin, begin + bytes) (Linux
// transparent huge pages; a hint, nothing changes where they are off). Only pieces inside the
// range are advised, so no other allocation is touched, and only pages not yet touched can get
// them. pack_rows calls it on its output; a caller packing one buffer in several calls should
// call it on the whole buffer first, or the pieces that straddle two calls keep 4 KiB pages.
void advise_huge_pages(uint8_t* begin, size_t bytes);

// Packs the first n_groups * packed_group_rows(type) rows of a matrix (rows row_bytes apart)
// into out, which holds n_groups * packed_group_bytes(type, n_in) bytes. type must be Q4_0,
// Q4_1, Q5_0, Q5_1, Q8_0, Q4_K or Q6_K.
void pack_rows(GgmlType type, const uint8_t* rows, size_t row_bytes, int64_t n_in, int64_t n_groups, uint8_t* out);

// Bytes a converted activation row carries after its own (activation_row_bytes) for the packed
// kernels, and the function that writes them there: for Q8_K (the Q4_K and Q6_K kernels' input)
// each super-block's bytes in the order of the packed registers (qword 8g + k: values 4k .. 4k + 3
// of 64g .. 64g + 31, then of 64g + 32 .. 64g + 63), then -32 x every Q6_K sub-block's sum
// (int32) in the order of its register pairs, so that each matrix product reorders its input once
// rather than once per row group (which took 10% of the Q6_K kernel's time at batch 1). 0 and
// nothing for the other types.
size_t packed_activation_bytes(GgmlType act_type, int64_t n);
void add_packed_activation_tables(GgmlType act_type, uint8_t* row, int64_t n);

// Activations per packed kernel call: up to sixteen, so that a continuous-batching step of up to
// sixteen sequences passes over each weight group once (measured: 15% faster than two passes of
// eight on TinyLlama Q4_0); prompts use tiles of eight, which keep every accumulator in a
// register (sixteen made prompt processing up to 13% slower). A token's result is the same in
// any tile (batch independence).
inline constexpr int kMaxPackedTileTokens = 16;
inline constexpr int kPackedPromptTileTokens = 8;

// out[t * out_stride + r] = row r of the group . activation t, for r < packed_group_rows(type)
// and t < n_tok (1 <= n_tok <= kMaxPackedTileTokens). act as for RowDotFn (dot_kernels.h).
using PackedDotFn = void (*)(const uint8_t* group, const uint8_t* act, size_t act_stride, int64_t n, int n_tok,
                             float* out, size_t out_stride);

// The kernel for packed groups of this type at this level; null where there is none.
PackedDotFn packed_dot_kernel(GgmlType type, IsaLevel level);

// Defined in packed_dot_avx512.cpp, built for AVX-512 VNNI; call only when the CPU has it.
PackedDotFn packed_dot_kernel_avx512(GgmlType type);
// The Q8_K tables of add_packed_activation_tables, at `tables`, for the nb super-blocks at row.
void add_k_activation_tables_avx512(const uint8_t* row, int64_t nb, uint8_t* tables);

}  // namespace tandem::cpu
