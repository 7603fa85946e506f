#include "model/layers/deltanet.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/cpu/causal_conv1d.h"
#include "kernels/cpu/delta_net.h"
#include "kernels/cpu/vec_dot.h"

namespace tandem {

DeltaNetShape deltanet_shape(const ModelConfig& c) {
  DeltaNetShape s;
  s.d_conv = c.ssm_d_conv;
  s.n_k_heads = c.ssm_n_group;
  s.n_v_heads = c.ssm_dt_rank;
  s.d_k = c.ssm_d_state;
  s.d_v = c.ssm_dt_rank > 0 ? c.ssm_d_inner / c.ssm_dt_rank : 0;
  return s;
}

RecurrentShape recurrent_shape(const ModelConfig& c) {
  RecurrentShape r;
  bool any = false;
  for (int32_t il = 0; il < c.n_layer; ++il) any = any || c.layer_kind(il) == LayerKind::kRecurrent;
  if (!any) return r;
  const DeltaNetShape s = deltanet_shape(c);
  for (int32_t il = 0; il < c.n_layer; ++il) r.is_recurrent.push_back(c.layer_kind(il) == LayerKind::kRecurrent);
  r.conv_floats = s.conv_floats();
  r.state_floats = s.state_floats();
  return r;
}

void size_deltanet_buffers(ForwardBuffers& b, const ModelConfig& c, int32_t max_tokens, int32_t n_threads) {
  const DeltaNetShape s = deltanet_shape(c);
  const size_t tokens = static_cast<size_t>(max_tokens);
  // dn_mixed also takes the recurrence's output (value_dim <= conv_dim wide), being dead once
  // convolved; dn_conv widens to hold an ssm_in projection (q, k, v and z together) only when a
  // file has one (deltanet()). Each was another 8 MB for a 512-token batch of Qwen3-Next.
  b.dn_mixed.resize(tokens * static_cast<size_t>(s.conv_dim()));
  b.dn_conv.resize(tokens * static_cast<size_t>(s.conv_dim()));
  b.dn_z.resize(tokens * static_cast<size_t>(s.value_dim()));
  b.dn_ba.resize(tokens * 2 * static_cast<size_t>(s.n_v_heads));
  b.dn_scratch.resize(static_cast<size_t>(n_threads) *
                      static_cast<size_t>(cpu::delta_net_chunk_scratch(cpu::kDeltaNetChunk, s.d_k, s.d_v)));
  b.dn_runs.resize(tokens + 1);
}

namespace {

// The older ssm_in layout, per key head: q [d_k], k [d_k], v [r * d_v], z [r * d_v] (r value heads
// per key head). Rearranged into mixed = [all q, all k, all v] and z = [all z].
void split_qkvz(const DeltaNetShape& s, const float* qkvz, float* mixed, float* z) {
  const int32_t r = s.n_v_heads / s.n_k_heads;
  const int64_t group = 2 * s.d_k + 2 * static_cast<int64_t>(r) * s.d_v;
  const int64_t vz = static_cast<int64_t>(r) * s.d_v;
  for (int32_t g = 0; g < s.n_k_heads; ++g) {
    const float* src = qkvz + g * group;
    std::copy_n(src, s.d_k, mixed + static_cast<int64_t>(g) * s.d_k);
    std::copy_n(src + s.d_k, s.d_k, mixed + s.key_dim() + static_cast<int64_t>(g) * s.d_k);
    std::copy_n(src + 2 * s.d_k, vz, mixed + 2 * s.key_dim() + g * vz);
    std::copy_n(src + 2 * s.d_k + vz, vz, z + g * vz);
  }
}

// The same head from its token t on.
cpu::DeltaNetHead advance(const cpu::DeltaNetHead& h, int32_t t) {
  cpu::DeltaNetHead out = h;
  out.q += t * h.qk_stride;
  out.k += t * h.qk_stride;
  out.v += t * h.v_stride;
  out.g += t * h.gb_stride;
  out.beta += t * h.gb_stride;
  out.out += t * h.out_stride;
  return out;
}

}  // namespace

void deltanet(ForwardContext& ctx, int32_t il, const DeltaNetWeights& w, const float* xn, float* out) {
  const ModelConfig& c = ctx.config;
  ForwardBuffers& b = ctx.buf;
  cpu::ThreadPool& pool = ctx.pool;
  RecurrentState* rs = ctx.kv.recurrent();
  TANDEM_CHECK(rs != nullptr && rs->is_recurrent(il));
  const DeltaNetShape s = deltanet_shape(c);
  const int32_t n = ctx.n_tokens;
  const int64_t d = c.n_embd;
  const int64_t conv_dim = s.conv_dim();
  const int64_t value_dim = s.value_dim();
  const int32_t n_v = s.n_v_heads;
  const int32_t per_k = n_v / s.n_k_heads;  // value heads per key head

  // Projections: q, k, v (one matrix, or split from ssm_in), the output gate z, and b, a.
  ctx.observe(il, MatmulSite::kAttnInput, xn, n, d);
  if (w.wqkv.data) {
    const cpu::ConvertedActivations xq = cpu::convert_activations(w.wqkv.type, xn, d, n, b.scratch, pool);
    cpu::matmul(w.wqkv, xq, b.dn_mixed.data(), pool);
    if (vec_dot_type(w.wgate.type) == xq.type) {
      cpu::matmul(w.wgate, xq, b.dn_z.data(), pool);
    } else {
      cpu::matmul(w.wgate, xn, b.dn_z.data(), n, b.scratch, pool);
    }
  } else {
    const int64_t qkvz_dim = conv_dim + value_dim;
    if (b.dn_conv.size() < static_cast<size_t>(n) * static_cast<size_t>(qkvz_dim)) {
      b.dn_conv.resize(b.token.size() * static_cast<size_t>(qkvz_dim));
    }
    cpu::matmul(w.ssm_in, xn, b.dn_conv.data(), n, b.scratch, pool);
    maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        split_qkvz(s, b.dn_conv.data() + t * qkvz_dim, b.dn_mixed.data() + t * conv_dim, b.dn_z.data() + t * value_dim);
      }
    });
  }
  cpu::matmul(w.w_ba, xn, b.dn_ba.data(), n, b.scratch, pool);
  // b and a become, per token, g [n_v] then beta [n_v] (value head order).
  constexpr int32_t kMaxValueHeads = 256;
  TANDEM_CHECK(n_v <= kMaxValueHeads);
  maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
    float ba[2 * kMaxValueHeads];
    for (int64_t t = begin; t < end; ++t) {
      float* row = b.dn_ba.data() + t * 2 * n_v;
      std::copy_n(row, 2 * n_v, ba);
      for (int32_t h = 0; h < n_v; ++h) {
        const int32_t group = h / per_k;
        const int32_t j = h % per_k;
        const float beta_logit = ba[group * 2 * per_k + j];
        const float alpha = ba[group * 2 * per_k + per_k + j];
        row[h] = cpu::softplus(alpha + w.dt_bias[h]) * w.a[h];
        row[n_v + h] = 1.0f / (1.0f + std::exp(-beta_logit));
      }
    }
  });

  // The batch's runs of tokens of one sequence.
  int32_t n_runs = 0;
  for (int32_t t = 0; t < n; ++t) {
    if (t == 0 || b.seq[static_cast<size_t>(t)] != b.seq[static_cast<size_t>(t - 1)]) {
      b.dn_runs[static_cast<size_t>(n_runs++)] = t;
    }
  }
  b.dn_runs[static_cast<size_t>(n_runs)] = n;
  auto run_begin = [&](int32_t r) { return b.dn_runs[static_cast<size_t>(r)]; };
  auto run_seq = [&](int32_t r) { return b.seq[static_cast<size_t>(run_begin(r))]; };

  // Short convolution of each run from its sequence's last inputs, in channel blocks.
  constexpr int64_t kChannelBlock = 256;
  const int64_t n_blocks = (conv_dim + kChannelBlock - 1) / kChannelBlock;
  pool.parallel_for(static_cast<int64_t>(n_runs) * n_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int32_t r = static_cast<int32_t>(i / n_blocks);
      const int64_t c0 = (i % n_blocks) * kChannelBlock;
      const int32_t t0 = run_begin(r);
      cpu::causal_conv1d(b.dn_mixed.data() + t0 * conv_dim, conv_dim, run_begin(r + 1) - t0, w.conv, s.d_conv,
                         rs->conv(run_seq(r), il), conv_dim, b.dn_conv.data() + t0 * conv_dim, conv_dim, c0,
                         std::min(conv_dim, c0 + kChannelBlock));
    }
  });
  // SiLU, then q and k L2-normalised per head (q with the 1/sqrt(d_k) of attention).
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(s.d_k));
  maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* row = b.dn_conv.data() + t * conv_dim;
      cpu::silu(row, conv_dim);
      for (int32_t h = 0; h < s.n_k_heads; ++h) {
        float* q = row + static_cast<int64_t>(h) * s.d_k;
        float* k = row + s.key_dim() + static_cast<int64_t>(h) * s.d_k;
        cpu::l2_norm(q, q, s.d_k, c.rms_eps, q_scale);
        cpu::l2_norm(k, k, s.d_k, c.rms_eps, 1.0f);
      }
    }
  });

  // The recurrence's output goes where its input was before the convolution (dn_mixed).
  float* dn_out = b.dn_mixed.data();

  // The gated delta rule, one task per (run, value head). Chunks start at multiples of
  // kDeltaNetChunkTokens in the sequence, whatever the call's first position, and a piece of one
  // token runs token by token: a prompt split at chunk boundaries (SequenceBatcher does) is then
  // computed exactly as in one call.
  const int64_t scratch_floats = cpu::delta_net_chunk_scratch(cpu::kDeltaNetChunk, s.d_k, s.d_v);
  pool.parallel_for_indexed(static_cast<int64_t>(n_runs) * n_v, 1, [&](int64_t begin, int64_t end, int thread) {
    float* scratch = b.dn_scratch.data() + static_cast<size_t>(thread) * static_cast<size_t>(scratch_floats);
    for (int64_t i = begin; i < end; ++i) {
      const int32_t r = static_cast<int32_t>(i / n_v);
      const int32_t h = static_cast<int32_t>(i % n_v);
      const int32_t kh = h / per_k;
      const int32_t t0 = run_begin(r);
      const int32_t count = run_begin(r + 1) - t0;
      const float* row = b.dn_conv.data() + t0 * conv_dim;
      const float* gb = b.dn_ba.data() + static_cast<int64_t>(t0) * 2 * n_v;
      const cpu::DeltaNetHead head{row + static_cast<int64_t>(kh) * s.d_k,
                                   row + s.key_dim() + static_cast<int64_t>(kh) * s.d_k,
                                   conv_dim,
                                   row + 2 * s.key_dim() + static_cast<int64_t>(h) * s.d_v,
                                   conv_dim,
                                   gb + h,
                                   gb + n_v + h,
                                   2 * n_v,
                                   dn_out + t0 * value_dim + static_cast<int64_t>(h) * s.d_v,
                                   value_dim};
      float* state = rs->state(run_seq(r), il) + static_cast<int64_t>(h) * s.d_v * s.d_k;
      const int32_t pos0 = b.pos[static_cast<size_t>(t0)];
      for (int32_t done = 0; done < count;) {
        const int32_t piece = std::min(count - done, kDeltaNetChunkTokens - (pos0 + done) % kDeltaNetChunkTokens);
        const cpu::DeltaNetHead part = advance(head, done);
        if (piece == 1) {
          cpu::delta_net_recurrent(part, 1, s.d_k, s.d_v, state);
        } else {
          cpu::delta_net_chunked(part, piece, s.d_k, s.d_v, state, kDeltaNetChunkTokens, scratch);
        }
        done += piece;
      }
    }
  });

  // RMS norm of each head's output times SiLU of its gate, then the output projection.
  maybe_parallel(pool, n, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      for (int32_t h = 0; h < n_v; ++h) {
        float* o = dn_out + t * value_dim + static_cast<int64_t>(h) * s.d_v;
        cpu::rms_norm_gated(o, w.norm, b.dn_z.data() + t * value_dim + static_cast<int64_t>(h) * s.d_v, o, s.d_v,
                            c.rms_eps);
      }
    }
  });
  ctx.observe(il, MatmulSite::kAttnOutput, dn_out, n, value_dim);
  cpu::matmul(w.w_out, dn_out, out, n, b.scratch, pool);
}

}  // namespace tandem
