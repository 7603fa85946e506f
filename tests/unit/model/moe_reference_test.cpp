// The mixture-of-experts architectures against llama.cpp on llama.cpp's own test models
// (tests/data/arch, made by its tests/test-llama-archs.cpp; references by
// scripts/references/llama_logits.cpp): qwen3moe (the generator's file, its plain variant, a top-1
// variant), qwen2moe and Mixtral (GGUF arch llama with experts; the generator's files and top-1
// variants written here from them as scripts/references/moe_top1_variant.py writes them, so the
// router really chooses and renormalisation matters). The tolerance is the one docs/NUMERICS.md
// gives for these F32 models. Then batch independence on the top-1 files, and the loader's
// validation of qwen2moe and Mixtral files.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <unistd.h>
#include <vector>

#include "gguf/gguf_writer.h"
#include "model/forward.h"

namespace tandem {
namespace {

const std::string kArch = std::string(TANDEM_TEST_DATA) + "/arch/";
constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;
constexpr double kNearTie = 2 * kAtol;

// A copy of a committed test model with some metadata set and some keys and tensors left out,
// written under the test's temp directory; returns its path.
std::string edited_copy(const std::string& name, const std::string& out_name,
                        const std::vector<std::pair<std::string, gguf::Value>>& set,
                        const std::set<std::string>& drop = {}) {
  auto file = gguf::GgufFile::open(kArch + name + ".gguf");
  EXPECT_TRUE(file) << file.error();
  gguf::GgufWriter w;
  for (const auto& [key, value] : file->metadata()) {
    if (!drop.count(key)) w.set(key, value);
  }
  for (const auto& [key, value] : set) w.set(key, value);
  for (const gguf::TensorInfo& t : file->tensors()) {
    if (!drop.count(t.name)) w.add_tensor(t.name, t.type, t.shape, t.data, t.n_bytes);
  }
  const std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + out_name + ".gguf";
  EXPECT_TRUE(w.write(path));
  return path;
}

gguf::Value u32(uint64_t v) { return gguf::Value::make_uint(gguf::ValueType::UINT32, v); }

// A reference file's model: committed, or (NAME-top1 of qwen2moe and llama) its top-1 variant.
std::string model_path(const std::string& name) {
  for (const char* arch : {"qwen2moe", "llama"}) {
    if (name == std::string(arch) + "-top1") {
      return edited_copy(std::string(arch) + "-moe", name, {{std::string(arch) + ".expert_used_count", u32(1)}});
    }
  }
  return kArch + name + ".gguf";
}

class MoeReference : public ::testing::TestWithParam<const char*> {};

TEST_P(MoeReference, ArgmaxAndTopLogitsMatchLlamaCpp) {
  const std::string name = GetParam();
  auto model = Model::load(model_path(name));
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  ASSERT_TRUE(c.is_moe()) << name;
  EXPECT_EQ(c.n_expert_used, name.ends_with("top1") ? 1 : 2) << name;
  std::ifstream in(kArch + name + ".logits.json");
  ASSERT_TRUE(in) << name;
  const auto ref = nlohmann::json::parse(in);
  double worst = 0.0;
  for (const auto& seq : ref["sequences"]) {
    const auto ids = seq["ids"].get<std::vector<int32_t>>();
    KvCache kv(c.n_layer, 128, c.kv_dim(), 1);
    ForwardState state(c, 64, 128, 2);
    forward(**model, kv, 0, ids, state, /*all_logits=*/true);
    for (size_t pos = 0; pos < ids.size(); ++pos) {
      const auto row = state.logits(static_cast<int32_t>(pos));
      const auto& r = seq["positions"][pos];
      const auto& top = r["top"];
      const int32_t mine = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      const double gap = top[0][1].get<double>() - top[1][1].get<double>();
      if (mine != r["argmax"].get<int32_t>()) {
        EXPECT_LT(gap, kNearTie) << name << " position " << pos << ": argmax " << mine << " vs " << r["argmax"];
      }
      for (const auto& entry : top) {
        const double want = entry[1].get<double>();
        const double got = row[entry[0].get<size_t>()];
        worst = std::max(worst, std::fabs(got - want));
        EXPECT_LE(std::fabs(got - want), kAtol + kRtol * std::fabs(want)) << name << " position " << pos;
      }
    }
  }
  std::printf("%s: largest logit difference %.2e\n", name.c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(Files, MoeReference,
                         ::testing::Values("qwen3moe-moe", "qwen3moe-plain", "qwen3moe-top1", "qwen2moe-moe",
                                           "qwen2moe-top1", "llama-moe", "llama-top1"));

class MoeBatchIndependence : public ::testing::TestWithParam<const char*> {};

// A top-1 file decoded alone and among sixteen other sequences: bit-identical logits.
TEST_P(MoeBatchIndependence, TopOneFileAloneAndAmongSixteenIsBitIdentical) {
  auto model = Model::load(model_path(GetParam()));
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  auto token = [](int32_t s, int32_t i) { return (s * 37 + i * 11 + 5) % 128; };
  constexpr int32_t kSeqs = 17;
  constexpr int32_t kPrompt = 6;
  constexpr int32_t kSteps = 5;

  std::vector<std::vector<float>> alone_rows;
  {
    KvCache kv(c.n_layer, 32, c.kv_dim(), 1);
    ForwardState alone(c, 16, 32, 1);
    std::vector<int32_t> prompt;
    for (int32_t i = 0; i < kPrompt; ++i) prompt.push_back(token(5, i));
    forward(**model, kv, 0, prompt, alone, false);
    alone_rows.emplace_back(alone.logits(0).begin(), alone.logits(0).end());
    for (int32_t step = 0; step < kSteps; ++step) {
      const int32_t t[] = {token(5, kPrompt + step)};
      forward(**model, kv, 0, t, alone, false);
      alone_rows.emplace_back(alone.logits(0).begin(), alone.logits(0).end());
    }
  }
  KvCache kv(c.n_layer, 32, c.kv_dim(), kSeqs);
  ForwardState together(c, kSeqs * kPrompt, 32, 3);
  std::vector<std::vector<int32_t>> tokens(kSeqs);
  for (int32_t s = 0; s < kSeqs; ++s) {
    for (int32_t i = 0; i < kPrompt + kSteps; ++i) tokens[static_cast<size_t>(s)].push_back(token(s, i));
  }
  std::vector<SequenceTokens> batch;
  for (int32_t s = 0; s < kSeqs; ++s) batch.push_back({s, std::span(tokens[static_cast<size_t>(s)]).first(kPrompt)});
  forward_batch(**model, kv, batch, together, false);
  ASSERT_EQ(std::vector<float>(together.logits(5).begin(), together.logits(5).end()), alone_rows[0]);
  for (int32_t step = 0; step < kSteps; ++step) {
    batch.clear();
    for (int32_t s = 0; s < kSeqs; ++s) {
      batch.push_back({s, std::span(tokens[static_cast<size_t>(s)]).subspan(static_cast<size_t>(kPrompt + step), 1)});
    }
    forward_batch(**model, kv, batch, together, false);
    ASSERT_EQ(std::vector<float>(together.logits(5).begin(), together.logits(5).end()),
              alone_rows[static_cast<size_t>(step) + 1])
        << "step " << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Files, MoeBatchIndependence,
                         ::testing::Values("qwen3moe-top1", "qwen2moe-top1", "llama-top1"));

// What the loader reads from the qwen2moe and Mixtral files, as llama.cpp does: qwen2moe keeps
// the chosen probabilities as they are and ignores the scales llama.cpp's qwen2moe graph ignores;
// Mixtral's experts are n_ff wide (expert_feed_forward_length is 0 there), renormalised.
TEST(MoeReference, Qwen2MoeAndMixtralConfigs) {
  auto qwen2moe = Model::load(kArch + "qwen2moe-moe.gguf");
  ASSERT_TRUE(qwen2moe) << qwen2moe.error();
  const ModelConfig& q = (*qwen2moe)->config();
  EXPECT_EQ(q.arch, Architecture::kQwen2Moe);
  EXPECT_FALSE(q.expert_weights_norm);
  EXPECT_EQ(q.n_ff_exp, 384);
  EXPECT_EQ(q.n_ff_shexp, 192);
  const MoeWeights& m = (*qwen2moe)->weights().layers[1].moe;
  EXPECT_NE(m.shexp.w_gate.data, nullptr);
  EXPECT_NE(m.gate_inp_shexp.data, nullptr);
  EXPECT_NE((*qwen2moe)->weights().layers[1].attn.bq, nullptr);
  EXPECT_EQ(m.gate_exps_s, nullptr);
  EXPECT_EQ(m.shexp.down_s, nullptr);

  auto mixtral = Model::load(kArch + "llama-moe.gguf");
  ASSERT_TRUE(mixtral) << mixtral.error();
  const ModelConfig& x = (*mixtral)->config();
  EXPECT_EQ(x.arch, Architecture::kLlama);
  EXPECT_TRUE(x.expert_weights_norm);
  EXPECT_EQ(x.n_expert, 2);
  EXPECT_EQ(x.n_ff_exp, x.n_ff);
  EXPECT_NE((*mixtral)->weights().layers[0].moe.gate_exps_s, nullptr);
  EXPECT_EQ((*mixtral)->weights().layers[0].ffn.w_gate.data, nullptr);

  auto dense = Model::load(kArch + "llama-dense.gguf");  // expert_count = 0 there: dense
  ASSERT_TRUE(dense) << dense.error();
  EXPECT_FALSE((*dense)->config().is_moe());
}

// Keys llama.cpp does not read for these architectures change nothing: expert_weights_scale (read
// only by the architectures that scale), expert_weights_norm (hard-coded per graph),
// expert_gating_func (softmax regardless).
TEST(MoeReference, IgnoresTheExpertKeysLlamaCppIgnores) {
  for (const char* arch : {"qwen2moe", "llama"}) {
    const std::string a = arch;
    auto plain = Model::load(model_path(a + "-top1"));
    auto odd = Model::load(edited_copy(a + "-moe", a + "-odd-keys",
                                       {{a + ".expert_used_count", u32(1)},
                                        {a + ".expert_weights_scale", gguf::Value::make_float(gguf::ValueType::FLOAT32, 2.5)},
                                        {a + ".expert_weights_norm", gguf::Value::make_bool(a == "qwen2moe")},
                                        {a + ".expert_gating_func", u32(2)}}));
    ASSERT_TRUE(plain) << plain.error();
    ASSERT_TRUE(odd) << odd.error();
    const ModelConfig& c = (*plain)->config();
    const std::vector<int32_t> ids = {3, 77, 12, 101, 5};
    KvCache kv_a(c.n_layer, 16, c.kv_dim(), 1);
    KvCache kv_b(c.n_layer, 16, c.kv_dim(), 1);
    ForwardState sa(c, 8, 16, 1);
    ForwardState sb((*odd)->config(), 8, 16, 1);
    forward(**plain, kv_a, 0, ids, sa, true);
    forward(**odd, kv_b, 0, ids, sb, true);
    for (int32_t r = 0; r < 5; ++r) {
      EXPECT_EQ(std::vector<float>(sa.logits(r).begin(), sa.logits(r).end()),
                std::vector<float>(sb.logits(r).begin(), sb.logits(r).end()))
          << arch << " row " << r;
    }
  }
}

std::string load_error(const std::string& path) {
  auto model = Model::load(path);
  return model ? "" : model.error();
}

TEST(MoeReference, RefusesBadQwen2MoeAndMixtralFiles) {
  struct Case {
    std::string file;
    std::vector<std::pair<std::string, gguf::Value>> set;
    std::set<std::string> drop;
    std::string error;
  };
  const Case cases[] = {
      {"qwen2moe-moe", {}, {"qwen2moe.expert_count"},
       "lacks required key qwen2moe.expert_count (a mixture-of-experts model needs it)"},
      {"qwen2moe-moe", {}, {"qwen2moe.expert_used_count"},
       "lacks required key qwen2moe.expert_used_count (a mixture-of-experts model needs it)"},
      {"qwen2moe-moe", {{"qwen2moe.expert_used_count", u32(3)}}, {},
       "qwen2moe.expert_used_count (3) exceeds expert_count (2)"},
      // Qwen2-MoE's shared expert and its gate are not optional (as in llama.cpp).
      {"qwen2moe-moe", {}, {"blk.1.ffn_gate_inp_shexp.weight"}, "missing tensor blk.1.ffn_gate_inp_shexp.weight"},
      {"qwen2moe-moe", {}, {"blk.0.ffn_up_shexp.weight"}, "missing tensor blk.0.ffn_up_shexp.weight"},
      {"qwen2moe-moe", {}, {"blk.0.attn_k.bias"}, "missing tensor blk.0.attn_k.bias"},
      {"qwen2moe-moe", {{"qwen2moe.expert_shared_feed_forward_length", u32(96)}}, {},
       "tensor blk.0.ffn_gate_shexp.weight has shape [256, 192], expected [256, 96]"},
      // Without its width, the shared expert is feed_forward_length (384) wide, as in llama.cpp.
      {"qwen2moe-moe", {}, {"qwen2moe.expert_shared_feed_forward_length"},
       "tensor blk.0.ffn_gate_shexp.weight has shape [256, 192], expected [256, 384]"},
      {"llama-moe", {}, {"llama.expert_used_count"},
       "lacks required key llama.expert_used_count (a mixture-of-experts model needs it)"},
      {"llama-moe", {}, {"blk.1.ffn_gate_inp.weight"}, "missing tensor blk.1.ffn_gate_inp.weight"},
      {"llama-moe", {{"llama.feed_forward_length", u32(192)}}, {},
       "tensor blk.0.ffn_gate_exps.weight has shape [256, 384, 2], expected [256, 192, 2]"},
      // A dense llama file that claims experts is refused, naming the router it lacks.
      {"llama-dense", {{"llama.expert_count", u32(4)}, {"llama.expert_used_count", u32(2)}}, {},
       "missing tensor blk.0.ffn_gate_inp.weight"},
  };
  int i = 0;
  for (const Case& k : cases) {
    const std::string error = load_error(edited_copy(k.file, "bad-" + std::to_string(i++), k.set, k.drop));
    EXPECT_NE(error.find(k.error), std::string::npos) << k.file << ": got \"" << error << "\", want " << k.error;
  }
}

}  // namespace
}  // namespace tandem
