#include "kernels/cpu/vec_dot.h"

#include "core/check.h"
#include "quant/fp16.h"

namespace tandem {

GgmlType vec_dot_type(GgmlType weight_type) {
  switch (weight_type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q8_0:
    case GgmlType::Q8_1:
    case GgmlType::Q8_K:
      return weight_type;
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
      return GgmlType::Q8_0;
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
      return GgmlType::Q8_1;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return GgmlType::Q8_K;
    default:
      break;
  }
  TANDEM_CHECK_MSG(false, "vec_dot_type: no dot product for this weight type");
  return weight_type;
}

float vec_dot_f32_scalar(const float* x, const float* y, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

float vec_dot_f16_scalar(const uint16_t* x, const uint16_t* y, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(x[i]) * fp16_to_fp32(y[i]));
  return static_cast<float>(sum);
}

float vec_dot_bf16_scalar(const uint16_t* x, const uint16_t* y, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]));
  return static_cast<float>(sum);
}

float vec_dot(GgmlType weight_type, const void* weight_row, const void* activation_row, int64_t n) {
  vec_dot_type(weight_type);  // rejects types without a dot product
  TANDEM_CHECK(n >= 0 && n % ggml_type_traits(weight_type).block_size == 0);
  const void* x = weight_row;
  const void* y = activation_row;
  switch (weight_type) {
    case GgmlType::F32:
      return vec_dot_f32_scalar(static_cast<const float*>(x), static_cast<const float*>(y), n);
    case GgmlType::F16:
      return vec_dot_f16_scalar(static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(y), n);
    case GgmlType::BF16:
      return vec_dot_bf16_scalar(static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(y), n);
    case GgmlType::Q4_0:
      return vec_dot_q4_0_q8_0_scalar(static_cast<const BlockQ4_0*>(x), static_cast<const BlockQ8_0*>(y), n);
    case GgmlType::Q4_1:
      return vec_dot_q4_1_q8_1_scalar(static_cast<const BlockQ4_1*>(x), static_cast<const BlockQ8_1*>(y), n);
    case GgmlType::Q5_0:
      return vec_dot_q5_0_q8_0_scalar(static_cast<const BlockQ5_0*>(x), static_cast<const BlockQ8_0*>(y), n);
    case GgmlType::Q5_1:
      return vec_dot_q5_1_q8_1_scalar(static_cast<const BlockQ5_1*>(x), static_cast<const BlockQ8_1*>(y), n);
    case GgmlType::Q8_0:
      return vec_dot_q8_0_q8_0_scalar(static_cast<const BlockQ8_0*>(x), static_cast<const BlockQ8_0*>(y), n);
    case GgmlType::Q8_1:
      return vec_dot_q8_1_q8_1_scalar(static_cast<const BlockQ8_1*>(x), static_cast<const BlockQ8_1*>(y), n);
    case GgmlType::Q2_K:
      return vec_dot_q2_k_q8_k_scalar(static_cast<const BlockQ2_K*>(x), static_cast<const BlockQ8_K*>(y), n);
    case GgmlType::Q3_K:
      return vec_dot_q3_k_q8_k_scalar(static_cast<const BlockQ3_K*>(x), static_cast<const BlockQ8_K*>(y), n);
    case GgmlType::Q4_K:
      return vec_dot_q4_k_q8_k_scalar(static_cast<const BlockQ4_K*>(x), static_cast<const BlockQ8_K*>(y), n);
    case GgmlType::Q5_K:
      return vec_dot_q5_k_q8_k_scalar(static_cast<const BlockQ5_K*>(x), static_cast<const BlockQ8_K*>(y), n);
    case GgmlType::Q6_K:
      return vec_dot_q6_k_q8_k_scalar(static_cast<const BlockQ6_K*>(x), static_cast<const BlockQ8_K*>(y), n);
    case GgmlType::Q8_K:
      return vec_dot_q8_k_q8_k_scalar(static_cast<const BlockQ8_K*>(x), static_cast<const BlockQ8_K*>(y), n);
    default:
      break;
  }
  TANDEM_CHECK_MSG(false, "vec_dot: no dot product for this weight type");
  return 0.0f;
}

}  // namespace tandem
