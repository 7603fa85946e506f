#pragma once
// Key/value cache, addressed by sequence. Each sequence slot owns n_ctx positions per layer;
// keys and values are stored as F16 (as llama.cpp does by default). Values: one row of kv_dim
// per position. Keys: blocks of cpu::kKeyBlock positions, each dimension-major (see
// cpu::BlockedKeys), which lets attention score sixteen keys with plain multiply-adds.
// Operations a scheduler needs: clear, truncate, copy a prefix between sequences.
//
// Hybrid models (qwen3next) also keep a recurrent state per sequence for their recurrent layers
// (recurrent_state.h), which only attention layers' keys and values are stored for. That state
// cannot be cut back: truncate and copy_prefix take only what restorable_prefix allows.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kv/recurrent_state.h"

namespace tandem {

class KvCache {
 public:
  // recurrent: the model's recurrent layers (none by default); they get no keys and values.
  KvCache(int32_t n_layer, int32_t n_ctx, int32_t kv_dim, int32_t n_seq, const RecurrentShape& recurrent = {});

  int32_t n_ctx() const { return n_ctx_; }
  int32_t n_seq() const { return n_seq_; }
  size_t bytes() const {
    return (keys_.size() + values_.size()) * sizeof(uint16_t) + (recurrent_ ? recurrent_->bytes() : 0);
  }
  // The recurrent layers' state, or null for a model without any.
  RecurrentState* recurrent() { return recurrent_.get(); }
  bool has_recurrent() const { return recurrent_ != nullptr; }

  // Store the key / value of (seq, layer, pos), converted to F16.
  void write_key(int32_t seq, int32_t layer, int32_t pos, const float* key);
  void write_value(int32_t seq, int32_t layer, int32_t pos, const float* value);
  // Dimension i of that key.
  uint16_t key(int32_t seq, int32_t layer, int32_t pos, int32_t i) const;
  // The blocked keys of (seq, layer); blocks are key_block_stride() values apart.
  const uint16_t* key_blocks(int32_t seq, int32_t layer) const;
  int64_t key_block_stride() const;
  // Row of values for (seq, layer) starting at position pos.
  uint16_t* values(int32_t seq, int32_t layer, int32_t pos = 0);
  const uint16_t* values(int32_t seq, int32_t layer, int32_t pos = 0) const;

  // Number of positions of a sequence that hold valid entries.
  int32_t length(int32_t seq) const { return lengths_[static_cast<size_t>(seq)]; }
  void set_length(int32_t seq, int32_t n);
  // Forgets every position (and resets the recurrent state).
  void clear(int32_t seq);
  // Keeps the first n positions; n must be restorable (checked).
  void truncate(int32_t seq, int32_t n);
  // Copies the first n positions of src into dst (prefix sharing by copy; dst's length becomes
  // n); n must be restorable from src (checked).
  void copy_prefix(int32_t src, int32_t dst, int32_t n);
  // The longest prefix of at most n positions that seq can be cut back to or copied as: n itself
  // without recurrent layers; with them only all of the sequence (n >= length) or nothing.
  int32_t restorable_prefix(int32_t seq, int32_t n) const;

 private:
  size_t offset(int32_t seq, int32_t layer, int32_t pos) const;
  size_t key_offset(int32_t seq, int32_t layer) const;

  int32_t n_layer_;        // layers of the model
  int32_t n_attn_layer_;   // those with keys and values
  std::vector<int32_t> attn_index_;  // [n_layer] a layer's place among those, or -1
  int32_t n_ctx_;
  int32_t n_ctx_blocked_;  // n_ctx rounded up to whole key blocks
  int32_t kv_dim_;
  int32_t n_seq_;
  std::vector<uint16_t> keys_;
  std::vector<uint16_t> values_;
  std::vector<int32_t> lengths_;
  std::unique_ptr<RecurrentState> recurrent_;
};

}  // namespace tandem
