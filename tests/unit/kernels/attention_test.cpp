#include "kernels/cpu/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/fp16.h"

namespace tandem::cpu {
namespace {

// Plain reference: softmax(q.k * scale) weighted sum of v, in double, except that the softmax
// weights are rounded to F16 before meeting the values, as the kernel (and llama.cpp) does.
std::vector<float> reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                             int n_kv, const AttentionShape& s) {
  std::vector<float> out(static_cast<size_t>(s.n_head * s.head_dim));
  const int group = s.n_head / s.n_head_kv;
  const int stride = s.n_head_kv * s.head_dim;
  for (int h = 0; h < s.n_head; ++h) {
    std::vector<double> w(static_cast<size_t>(n_kv));
    double max = -1e300;
    for (int j = 0; j < n_kv; ++j) {
      double dot = 0;
      for (int d = 0; d < s.head_dim; ++d) dot += q[h * s.head_dim + d] * k[j * stride + (h / group) * s.head_dim + d];
      w[j] = dot * s.scale;
      max = std::max(max, w[j]);
    }
    double sum = 0;
    for (double& x : w) sum += (x = std::exp(x - max));
    for (int d = 0; d < s.head_dim; ++d) {
      double acc = 0;
      for (int j = 0; j < n_kv; ++j) {
        const float p = fp16_to_fp32(fp32_to_fp16(static_cast<float>(w[j] / sum)));
        acc += p * v[j * stride + (h / group) * s.head_dim + d];
      }
      out[h * s.head_dim + d] = static_cast<float>(acc);
    }
  }
  return out;
}

TEST(Attention, GroupedQueryMatchesReference) {
  AttentionShape s{4, 2, 8, 1.0f / std::sqrt(8.0f)};
  const int n_kv = 5;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> q(32), k(n_kv * 16), v(n_kv * 16);
  for (float& x : q) x = fp16_to_fp32(fp32_to_fp16(u(rng)));  // exactly representable in F16
  for (float& x : k) x = fp16_to_fp32(fp32_to_fp16(u(rng)));
  for (float& x : v) x = fp16_to_fp32(fp32_to_fp16(u(rng)));
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  for (size_t i = 0; i < k.size(); ++i) k16[i] = fp32_to_fp16(k[i]);
  for (size_t i = 0; i < v.size(); ++i) v16[i] = fp32_to_fp16(v[i]);
  std::vector<float> out(32), scores(n_kv);
  attention(q.data(), k16.data(), v16.data(), n_kv, s, out.data(), scores.data());
  auto expected = reference(q, k, v, n_kv, s);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-5) << i;
}

TEST(Attention, SinglePositionReturnsItsValue) {
  AttentionShape s{1, 1, 4, 0.5f};
  std::vector<float> q = {1, 2, 3, 4};
  std::vector<uint16_t> k(4, fp32_to_fp16(1.0f));
  std::vector<uint16_t> v = {fp32_to_fp16(0.5f), fp32_to_fp16(-1.0f), fp32_to_fp16(2.0f), fp32_to_fp16(0.0f)};
  std::vector<float> out(4), scores(1);
  attention(q.data(), k.data(), v.data(), 1, s, out.data(), scores.data());
  EXPECT_EQ(out, (std::vector<float>{0.5f, -1.0f, 2.0f, 0.0f}));
}

}  // namespace
}  // namespace tandem::cpu
