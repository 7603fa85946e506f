#include "kernels/cpu/dot_kernels.h"

#include "core/check.h"
#include "kernels/cpu/vec_dot.h"
#include "quant/fp16.h"

namespace tandem::cpu {
namespace {

// The scalar references, one activation at a time.
template <typename W, typename A, float (*Dot)(const W*, const A*, int64_t)>
void scalar_rows(const void* w_row, const uint8_t* act, size_t act_stride, int64_t n, int n_tok, float* out,
                 size_t out_stride) {
  for (int t = 0; t < n_tok; ++t) {
    out[static_cast<size_t>(t) * out_stride] =
        Dot(static_cast<const W*>(w_row), reinterpret_cast<const A*>(act + static_cast<size_t>(t) * act_stride), n);
  }
}

RowDotFn scalar_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return scalar_rows<float, float, vec_dot_f32_scalar>;
    case GgmlType::F16: return scalar_rows<uint16_t, uint16_t, vec_dot_f16_scalar>;
    case GgmlType::BF16: return scalar_rows<uint16_t, uint16_t, vec_dot_bf16_scalar>;
    case GgmlType::Q4_0: return scalar_rows<BlockQ4_0, BlockQ8_0, vec_dot_q4_0_q8_0_scalar>;
    case GgmlType::Q4_1: return scalar_rows<BlockQ4_1, BlockQ8_1, vec_dot_q4_1_q8_1_scalar>;
    case GgmlType::Q5_0: return scalar_rows<BlockQ5_0, BlockQ8_0, vec_dot_q5_0_q8_0_scalar>;
    case GgmlType::Q5_1: return scalar_rows<BlockQ5_1, BlockQ8_1, vec_dot_q5_1_q8_1_scalar>;
    case GgmlType::Q8_0: return scalar_rows<BlockQ8_0, BlockQ8_0, vec_dot_q8_0_q8_0_scalar>;
    case GgmlType::Q8_1: return scalar_rows<BlockQ8_1, BlockQ8_1, vec_dot_q8_1_q8_1_scalar>;
    case GgmlType::Q2_K: return scalar_rows<BlockQ2_K, BlockQ8_K, vec_dot_q2_k_q8_k_scalar>;
    case GgmlType::Q3_K: return scalar_rows<BlockQ3_K, BlockQ8_K, vec_dot_q3_k_q8_k_scalar>;
    case GgmlType::Q4_K: return scalar_rows<BlockQ4_K, BlockQ8_K, vec_dot_q4_k_q8_k_scalar>;
    case GgmlType::Q5_K: return scalar_rows<BlockQ5_K, BlockQ8_K, vec_dot_q5_k_q8_k_scalar>;
    case GgmlType::Q6_K: return scalar_rows<BlockQ6_K, BlockQ8_K, vec_dot_q6_k_q8_k_scalar>;
    case GgmlType::Q8_K: return scalar_rows<BlockQ8_K, BlockQ8_K, vec_dot_q8_k_q8_k_scalar>;
    default: break;
  }
  TANDEM_CHECK_MSG(false, "row_dot_kernel: no dot product for this weight type");
  return nullptr;
}

size_t round_up_64(size_t n) { return (n + 63) / 64 * 64; }

bool has_scale_tables(GgmlType act_type) { return act_type == GgmlType::Q8_0 || act_type == GgmlType::Q8_1; }

}  // namespace

size_t activation_scales_offset(GgmlType act_type, int64_t n) { return round_up_64(ggml_row_size(act_type, n)); }

size_t activation_row_bytes(GgmlType act_type, int64_t n) {
  if (!has_scale_tables(act_type)) return round_up_64(ggml_row_size(act_type, n));
  const size_t n_blocks = static_cast<size_t>(n / kQK);
  const size_t tables = (act_type == GgmlType::Q8_1 ? 3 : 2) * n_blocks * sizeof(float);
  return activation_scales_offset(act_type, n) + round_up_64(tables);
}

void add_activation_scales(GgmlType act_type, uint8_t* row, int64_t n) {
  if (!has_scale_tables(act_type)) return;
  const int64_t n_blocks = n / kQK;
  auto* table = reinterpret_cast<float*>(row + activation_scales_offset(act_type, n));
  auto* sums = reinterpret_cast<int32_t*>(table) + (act_type == GgmlType::Q8_1 ? 2 : 1) * n_blocks;
  auto block_sum = [](const int8_t* qs) {
    int32_t sum = 0;
    for (int j = 0; j < kQK; ++j) sum += qs[j];
    return sum;
  };
  if (act_type == GgmlType::Q8_0) {
    const auto* blocks = reinterpret_cast<const BlockQ8_0*>(row);
    for (int64_t b = 0; b < n_blocks; ++b) {
      table[b] = fp16_to_fp32(blocks[b].d);
      sums[b] = -8 * block_sum(blocks[b].qs);
    }
  } else {
    const auto* blocks = reinterpret_cast<const BlockQ8_1*>(row);
    for (int64_t b = 0; b < n_blocks; ++b) {
      table[b] = fp16_to_fp32(blocks[b].d);
      table[n_blocks + b] = fp16_to_fp32(blocks[b].s);
      sums[b] = -8 * block_sum(blocks[b].qs);
    }
  }
}

RowDotFn row_dot_kernel(GgmlType weight_type, IsaLevel level) {
  RowDotFn fn = nullptr;
  if (level >= IsaLevel::kAvx512Vnni) fn = row_dot_kernel_avx512(weight_type);
  if (!fn && level >= IsaLevel::kAvx2) fn = row_dot_kernel_avx2(weight_type);
  return fn ? fn : scalar_kernel(weight_type);
}

}  // namespace tandem::cpu
