#pragma once
// The per-sequence state of a hybrid model's recurrent layers (Qwen3-Next's gated DeltaNet):
// for each sequence and recurrent layer, the short convolution's last inputs and the delta
// rule's matrix state. Unlike keys and values, this state summarises every token so far and
// cannot be cut back to an earlier position: a sequence can only be reset (to no tokens) or
// copied whole. The KV cache owns one of these beside its keys and values (kv_cache.h) and
// enforces that rule for the scheduler.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem {

// Which layers are recurrent and the floats of state each one keeps per sequence.
struct RecurrentShape {
  std::vector<bool> is_recurrent;  // [n_layer] of the model; empty: no recurrent layers
  int64_t conv_floats = 0;         // [d_conv - 1, conv_channels]
  int64_t state_floats = 0;        // [n_v_heads, d_v, d_k]

  bool empty() const;
};

class RecurrentState {
 public:
  RecurrentState(const RecurrentShape& shape, int32_t n_seq);

  int32_t n_seq() const { return n_seq_; }
  bool is_recurrent(int32_t layer) const;
  size_t bytes() const { return data_.size() * sizeof(float); }
  int64_t conv_floats() const { return conv_floats_; }
  int64_t state_floats() const { return state_floats_; }

  // The convolution inputs and delta-rule state of (seq, layer); layer must be recurrent.
  float* conv(int32_t seq, int32_t layer);
  float* state(int32_t seq, int32_t layer);

  // Back to the state before any token: zeros.
  void reset(int32_t seq);
  // dst's state becomes a copy of src's.
  void copy(int32_t src, int32_t dst);

 private:
  float* slot(int32_t seq, int32_t layer);

  std::vector<int32_t> index_;  // [n_layer] the layer's place among the recurrent ones, or -1
  int32_t n_recurrent_ = 0;
  int64_t conv_floats_;
  int64_t state_floats_;
  int32_t n_seq_;
  std::vector<float> data_;  // [n_seq, n_recurrent, conv_floats + state_floats]
};

}  // namespace tandem
