// The gated DeltaNet layer against a plain reference written from the math (llama.cpp's
// qwen3next graph), token by token in double: prompts in chunks, across calls, in a batch with
// another sequence, and with the older ssm_in projection layout.

#include "model/layers/deltanet.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/thread_pool.h"
#include "kv/kv_cache.h"

namespace tandem {
namespace {

constexpr int32_t kEmbd = 24;

ModelConfig tiny_config() {
  ModelConfig c;
  c.arch_name = "qwen3next";
  c.n_embd = kEmbd;
  c.n_layer = 2;  // layer 0 recurrent, layer 1 attention
  c.n_head = 2;
  c.n_head_kv = 1;
  c.head_dim = 8;
  c.rms_eps = 1e-6f;
  c.full_attention_interval = 2;
  c.ssm_d_conv = 4;
  c.ssm_n_group = 2;   // key heads
  c.ssm_dt_rank = 4;   // value heads: two per key head
  c.ssm_d_state = 8;   // key head width
  c.ssm_d_inner = 24;  // value head width 6
  return c;
}

std::vector<float> random_floats(size_t n, std::mt19937& gen, float scale) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(gen);
  return v;
}

cpu::WeightMatrix f32_matrix(const std::vector<float>& rows, int64_t n_in, int64_t n_out) {
  cpu::WeightMatrix m;
  m.type = GgmlType::F32;
  m.data = reinterpret_cast<const uint8_t*>(rows.data());
  m.n_in = n_in;
  m.n_out = n_out;
  m.row_bytes = static_cast<size_t>(n_in) * sizeof(float);
  return m;
}

// Weights as row-major [n_out][n_in] floats, the layer's views onto them.
struct Weights {
  DeltaNetShape s;
  std::vector<float> qkv, gate, ba, conv, dt, a, norm, out, qkvz;
  DeltaNetWeights views;  // wqkv + wgate
  DeltaNetWeights legacy;  // the same as one ssm_in

  explicit Weights(const ModelConfig& c) : s(deltanet_shape(c)) {
    std::mt19937 gen(7);
    qkv = random_floats(static_cast<size_t>(s.conv_dim() * kEmbd), gen, 0.3f);
    gate = random_floats(static_cast<size_t>(s.value_dim() * kEmbd), gen, 0.3f);
    ba = random_floats(static_cast<size_t>(2 * s.n_v_heads * kEmbd), gen, 0.3f);
    conv = random_floats(static_cast<size_t>(s.conv_dim() * s.d_conv), gen, 0.5f);
    dt = random_floats(static_cast<size_t>(s.n_v_heads), gen, 0.5f);
    a = random_floats(static_cast<size_t>(s.n_v_heads), gen, 1.0f);
    for (float& x : a) x = -std::fabs(x);
    norm = random_floats(static_cast<size_t>(s.d_v), gen, 1.0f);
    out = random_floats(static_cast<size_t>(kEmbd * s.value_dim()), gen, 0.3f);
    views.wqkv = f32_matrix(qkv, kEmbd, s.conv_dim());
    views.wgate = f32_matrix(gate, kEmbd, s.value_dim());
    views.w_ba = f32_matrix(ba, kEmbd, 2 * s.n_v_heads);
    views.conv = conv.data();
    views.dt_bias = dt.data();
    views.a = a.data();
    views.norm = norm.data();
    views.w_out = f32_matrix(out, s.value_dim(), kEmbd);
    // ssm_in: per key head, its q, k, v rows and z rows.
    const int32_t r = s.n_v_heads / s.n_k_heads;
    auto append_rows = [&](const std::vector<float>& m, int64_t first, int64_t count) {
      qkvz.insert(qkvz.end(), m.begin() + first * kEmbd, m.begin() + (first + count) * kEmbd);
    };
    for (int32_t g = 0; g < s.n_k_heads; ++g) {
      append_rows(qkv, g * s.d_k, s.d_k);
      append_rows(qkv, s.key_dim() + g * s.d_k, s.d_k);
      append_rows(qkv, 2 * s.key_dim() + static_cast<int64_t>(g) * r * s.d_v, r * s.d_v);
      append_rows(gate, static_cast<int64_t>(g) * r * s.d_v, r * s.d_v);
    }
    legacy = views;
    legacy.wqkv = {};
    legacy.wgate = {};
    legacy.ssm_in = f32_matrix(qkvz, kEmbd, s.conv_dim() + s.value_dim());
  }
};

double dot(const float* w, const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += static_cast<double>(w[i]) * x[i];
  return s;
}

// One sequence, token by token, as llama.cpp's graph defines it.
class Reference {
 public:
  Reference(const Weights& w) : w_(w), s_(w.s), inputs_(static_cast<size_t>(s_.d_conv - 1), std::vector<double>(static_cast<size_t>(s_.conv_dim()), 0.0)),
        state_(static_cast<size_t>(s_.state_floats()), 0.0) {}

  std::vector<double> step(const float* xn_row) {
    const std::vector<double> x(xn_row, xn_row + kEmbd);
    const int64_t cd = s_.conv_dim();
    std::vector<double> mixed(static_cast<size_t>(cd)), z(static_cast<size_t>(s_.value_dim()));
    for (int64_t o = 0; o < cd; ++o) mixed[static_cast<size_t>(o)] = dot(&w_.qkv[static_cast<size_t>(o * kEmbd)], x);
    for (int64_t o = 0; o < s_.value_dim(); ++o) z[static_cast<size_t>(o)] = dot(&w_.gate[static_cast<size_t>(o * kEmbd)], x);
    inputs_.push_back(mixed);
    std::vector<double> conv(static_cast<size_t>(cd), 0.0);
    for (int64_t ch = 0; ch < cd; ++ch) {
      for (int32_t i = 0; i < s_.d_conv; ++i) {
        conv[static_cast<size_t>(ch)] += inputs_[static_cast<size_t>(i)][static_cast<size_t>(ch)] * w_.conv[static_cast<size_t>(ch * s_.d_conv + i)];
      }
      const double v = conv[static_cast<size_t>(ch)];
      conv[static_cast<size_t>(ch)] = v / (1.0 + std::exp(-v));
    }
    inputs_.erase(inputs_.begin());
    auto l2 = [&](int64_t at, double scale) {
      double ss = 0;
      for (int32_t i = 0; i < s_.d_k; ++i) ss += conv[static_cast<size_t>(at + i)] * conv[static_cast<size_t>(at + i)];
      for (int32_t i = 0; i < s_.d_k; ++i) conv[static_cast<size_t>(at + i)] *= scale / std::sqrt(ss + 1e-6);
    };
    for (int32_t g = 0; g < s_.n_k_heads; ++g) {
      l2(static_cast<int64_t>(g) * s_.d_k, 1.0 / std::sqrt(static_cast<double>(s_.d_k)));
      l2(s_.key_dim() + static_cast<int64_t>(g) * s_.d_k, 1.0);
    }
    const int32_t r = s_.n_v_heads / s_.n_k_heads;
    std::vector<double> o(static_cast<size_t>(s_.value_dim()));
    for (int32_t h = 0; h < s_.n_v_heads; ++h) {
      const int32_t g = h / r;
      const double b_logit = dot(&w_.ba[static_cast<size_t>((g * 2 * r + h % r) * kEmbd)], x);
      const double a_logit = dot(&w_.ba[static_cast<size_t>((g * 2 * r + r + h % r) * kEmbd)], x);
      const double beta = 1.0 / (1.0 + std::exp(-b_logit));
      const double decay = std::exp(std::log1p(std::exp(a_logit + w_.dt[static_cast<size_t>(h)])) * w_.a[static_cast<size_t>(h)]);
      const double* q = &conv[static_cast<size_t>(g * s_.d_k)];
      const double* k = &conv[static_cast<size_t>(s_.key_dim() + g * s_.d_k)];
      const double* v = &conv[static_cast<size_t>(2 * s_.key_dim() + h * s_.d_v)];
      double* S = &state_[static_cast<size_t>(h) * s_.d_k * s_.d_v];  // [d_k][d_v]
      for (int64_t i = 0; i < static_cast<int64_t>(s_.d_k) * s_.d_v; ++i) S[i] *= decay;
      for (int32_t j = 0; j < s_.d_v; ++j) {
        double sk = 0;
        for (int32_t i = 0; i < s_.d_k; ++i) sk += S[i * s_.d_v + j] * k[i];
        const double delta = beta * (v[j] - sk);
        for (int32_t i = 0; i < s_.d_k; ++i) S[i * s_.d_v + j] += k[i] * delta;
      }
      double ms = 0;
      std::vector<double> oh(static_cast<size_t>(s_.d_v));
      for (int32_t j = 0; j < s_.d_v; ++j) {
        for (int32_t i = 0; i < s_.d_k; ++i) oh[static_cast<size_t>(j)] += S[i * s_.d_v + j] * q[i];
        ms += oh[static_cast<size_t>(j)] * oh[static_cast<size_t>(j)] / s_.d_v;
      }
      for (int32_t j = 0; j < s_.d_v; ++j) {
        const double zz = z[static_cast<size_t>(h * s_.d_v + j)];
        o[static_cast<size_t>(h * s_.d_v + j)] =
            oh[static_cast<size_t>(j)] / std::sqrt(ms + 1e-6) * w_.norm[static_cast<size_t>(j)] * zz / (1.0 + std::exp(-zz));
      }
    }
    std::vector<double> y(kEmbd);
    for (int32_t e = 0; e < kEmbd; ++e) y[static_cast<size_t>(e)] = dot(&w_.out[static_cast<size_t>(e * s_.value_dim())], o);
    return y;
  }

 private:
  const Weights& w_;
  DeltaNetShape s_;
  std::vector<std::vector<double>> inputs_;  // the last d_conv - 1 projections
  std::vector<double> state_;
};

// The layer over a batch of sequences' tokens (each a run), as forward_batch lays them out.
class Harness {
 public:
  Harness() : c_(tiny_config()), kv_(c_.n_layer, 256, c_.kv_dim(), 3, recurrent_shape(c_)), pool_(2) {
    buf_.seq.resize(256);
    buf_.pos.resize(256);
    size_deltanet_buffers(buf_, c_, 256, pool_.size());
  }

  // Runs xn rows [sum of counts, kEmbd] for (seq, count) pairs; returns the layer's output.
  std::vector<float> run(const DeltaNetWeights& w, const std::vector<std::pair<int32_t, int32_t>>& runs,
                         const std::vector<float>& xn) {
    int32_t n = 0;
    for (auto [seq, count] : runs) {
      for (int32_t i = 0; i < count; ++i) {
        buf_.seq[static_cast<size_t>(n)] = seq;
        buf_.pos[static_cast<size_t>(n++)] = kv_.length(seq) + i;
      }
    }
    ForwardContext ctx{c_, kv_, buf_, pool_};
    ctx.n_tokens = n;
    ctx.n_ctx = 256;
    std::vector<float> out(static_cast<size_t>(n) * kEmbd);
    deltanet(ctx, 0, w, xn.data(), out.data());
    for (auto [seq, count] : runs) kv_.set_length(seq, kv_.length(seq) + count);
    return out;
  }

  const ModelConfig& config() const { return c_; }
  KvCache& kv() { return kv_; }

 private:
  ModelConfig c_;
  KvCache kv_;
  cpu::ThreadPool pool_;
  ForwardBuffers buf_;
};

void expect_close(const std::vector<float>& got, const std::vector<std::vector<double>>& want, size_t first_row,
                  const char* what) {
  for (size_t t = 0; t < want.size(); ++t) {
    for (int32_t e = 0; e < kEmbd; ++e) {
      ASSERT_NEAR(got[(first_row + t) * kEmbd + static_cast<size_t>(e)], want[t][static_cast<size_t>(e)], 2e-4)
          << what << " token " << t << " dim " << e;
    }
  }
}

TEST(DeltaNetLayer, PromptInChunksThenDecodeMatchesTheReference) {
  Harness h;
  const Weights w(h.config());
  std::mt19937 gen(3);
  const int32_t n = 150;  // two whole chunks and a part
  const std::vector<float> xn = random_floats(static_cast<size_t>(n) * kEmbd, gen, 1.0f);
  Reference ref(w);
  std::vector<std::vector<double>> want;
  for (int32_t t = 0; t < n; ++t) want.push_back(ref.step(&xn[static_cast<size_t>(t) * kEmbd]));

  // 100 prompt tokens in one call, two decoded alone, then the rest as one more prompt call.
  auto rows = [&](int32_t first, int32_t count) {
    return std::vector<float>(xn.begin() + first * kEmbd, xn.begin() + (first + count) * kEmbd);
  };
  std::vector<float> got = h.run(w.views, {{1, 100}}, rows(0, 100));
  for (int32_t t : {100, 101}) {
    const std::vector<float> one = h.run(w.views, {{1, 1}}, rows(t, 1));
    got.insert(got.end(), one.begin(), one.end());
  }
  const std::vector<float> rest = h.run(w.views, {{1, n - 102}}, rows(102, n - 102));
  got.insert(got.end(), rest.begin(), rest.end());
  expect_close(got, want, 0, "split");
}

TEST(DeltaNetLayer, SequencesInOneBatchKeepTheirOwnState) {
  Harness h;
  const Weights w(h.config());
  std::mt19937 gen(4);
  const std::vector<float> xa = random_floats(9 * kEmbd, gen, 1.0f);
  const std::vector<float> xb = random_floats(5 * kEmbd, gen, 1.0f);
  Reference ra(w), rb(w);
  std::vector<std::vector<double>> want_a, want_b;
  for (int32_t t = 0; t < 9; ++t) want_a.push_back(ra.step(&xa[static_cast<size_t>(t) * kEmbd]));
  for (int32_t t = 0; t < 5; ++t) want_b.push_back(rb.step(&xb[static_cast<size_t>(t) * kEmbd]));

  // Sequence 0 reads 8 tokens of its prompt beside sequence 2's 5; then 0 decodes its ninth.
  std::vector<float> batch(xa.begin(), xa.begin() + 8 * kEmbd);
  batch.insert(batch.end(), xb.begin(), xb.end());
  const std::vector<float> got = h.run(w.views, {{0, 8}, {2, 5}}, batch);
  expect_close(got, {want_a.begin(), want_a.begin() + 8}, 0, "a");
  expect_close(got, want_b, 8, "b");
  const std::vector<float> last = h.run(w.views, {{0, 1}}, std::vector<float>(xa.begin() + 8 * kEmbd, xa.end()));
  expect_close(last, {want_a[8]}, 0, "a decode");

  // Cleared, sequence 0 starts over from zero state.
  h.kv().clear(0);
  const std::vector<float> again = h.run(w.views, {{0, 9}}, xa);
  expect_close(again, want_a, 0, "after clear");
}

TEST(DeltaNetLayer, OlderSsmInLayoutGivesTheSameResult) {
  Harness h;
  const Weights w(h.config());
  std::mt19937 gen(5);
  const std::vector<float> xn = random_floats(7 * kEmbd, gen, 1.0f);
  const std::vector<float> split = h.run(w.views, {{0, 7}}, xn);
  const std::vector<float> joined = h.run(w.legacy, {{1, 7}}, xn);
  for (size_t i = 0; i < split.size(); ++i) EXPECT_NEAR(joined[i], split[i], 1e-5) << i;
}

}  // namespace
}  // namespace tandem
