// The forward pass's observer hook (model/activation_observer.h): every matrix product's input
// is reported once per layer, with the documented shapes, and observing changes no logit.

#include "model/activation_observer.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "model/forward.h"

namespace tandem {
namespace {

const std::string kStories = std::string(TANDEM_SHARED_DIR) + "/models/stories260K.gguf";

class Recorder : public ActivationObserver {
 public:
  void observe(int32_t layer, MatmulSite site, const float* x, int64_t n_tokens, int64_t n_in) override {
    calls.emplace_back(layer, site, n_tokens, n_in);
    first_values.push_back(x[0]);
  }
  std::vector<std::tuple<int32_t, MatmulSite, int64_t, int64_t>> calls;
  std::vector<float> first_values;
};

TEST(ActivationObserver, SeesEverySiteOfEveryLayerAndChangesNothing) {
  auto model = Model::load(kStories);
  ASSERT_TRUE(model) << model.error();
  const ModelConfig& c = (*model)->config();
  const std::vector<int32_t> tokens = {1, 403, 407, 261, 378};
  const auto n = static_cast<int64_t>(tokens.size());

  KvCache plain_kv(c.n_layer, 32, c.kv_dim(), 1);
  ForwardState plain(c, 8, 32, 2);
  forward(**model, plain_kv, 0, tokens, plain, true);

  KvCache kv(c.n_layer, 32, c.kv_dim(), 1);
  ForwardState observed(c, 8, 32, 2);
  Recorder recorder;
  observed.set_observer(&recorder);
  forward(**model, kv, 0, tokens, observed, true);
  for (int32_t r = 0; r < n; ++r) {
    const auto a = plain.logits(r);
    const auto b = observed.logits(r);
    ASSERT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << "row " << r;
  }

  std::vector<std::tuple<int32_t, MatmulSite, int64_t, int64_t>> expected;
  for (int32_t il = 0; il < c.n_layer; ++il) {
    expected.emplace_back(il, MatmulSite::kAttnInput, n, c.n_embd);
    expected.emplace_back(il, MatmulSite::kAttnOutput, n, c.q_dim());
    expected.emplace_back(il, MatmulSite::kFfnInput, n, c.n_embd);
    expected.emplace_back(il, MatmulSite::kFfnDown, n, c.n_ff);
  }
  expected.emplace_back(-1, MatmulSite::kOutput, n, c.n_embd);
  EXPECT_EQ(recorder.calls, expected);

  // Detached, the next call reports nothing.
  observed.set_observer(nullptr);
  const size_t before = recorder.calls.size();
  const int32_t next[] = {300};
  forward(**model, kv, 0, next, observed, false);
  EXPECT_EQ(recorder.calls.size(), before);
}

}  // namespace
}  // namespace tandem
