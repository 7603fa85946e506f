#include "kv/kv_cache.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "quant/fp16.h"

namespace tandem {

KvCache::KvCache(int32_t n_layer, int32_t n_ctx, int32_t kv_dim, int32_t n_seq, const RecurrentShape& recurrent)
    : n_layer_(n_layer),
      n_attn_layer_(0),
      attn_index_(static_cast<size_t>(std::max(n_layer, 0)), -1),
      n_ctx_(n_ctx),
      n_ctx_blocked_((n_ctx + cpu::kKeyBlock - 1) / cpu::kKeyBlock * cpu::kKeyBlock),
      kv_dim_(kv_dim),
      n_seq_(n_seq),
      lengths_(static_cast<size_t>(n_seq), 0) {
  TANDEM_CHECK(n_layer > 0 && n_ctx > 0 && kv_dim > 0 && n_seq > 0);
  const bool hybrid = !recurrent.empty();
  TANDEM_CHECK(!hybrid || recurrent.is_recurrent.size() == static_cast<size_t>(n_layer));
  for (int32_t il = 0; il < n_layer; ++il) {
    if (!hybrid || !recurrent.is_recurrent[static_cast<size_t>(il)]) attn_index_[static_cast<size_t>(il)] = n_attn_layer_++;
  }
  if (hybrid) recurrent_ = std::make_unique<RecurrentState>(recurrent, n_seq);
  keys_.resize(static_cast<size_t>(n_seq) * n_attn_layer_ * n_ctx_blocked_ * kv_dim);
  values_.resize(static_cast<size_t>(n_seq) * n_attn_layer_ * n_ctx * kv_dim);
}

size_t KvCache::offset(int32_t seq, int32_t layer, int32_t pos) const {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && layer >= 0 && layer < n_layer_ && pos >= 0 && pos <= n_ctx_);
  const int32_t attn = attn_index_[static_cast<size_t>(layer)];
  TANDEM_CHECK(attn >= 0);
  return ((static_cast<size_t>(seq) * n_attn_layer_ + attn) * n_ctx_ + pos) * kv_dim_;
}

size_t KvCache::key_offset(int32_t seq, int32_t layer) const {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && layer >= 0 && layer < n_layer_);
  const int32_t attn = attn_index_[static_cast<size_t>(layer)];
  TANDEM_CHECK(attn >= 0);
  return (static_cast<size_t>(seq) * n_attn_layer_ + attn) * n_ctx_blocked_ * kv_dim_;
}

int64_t KvCache::key_block_stride() const { return static_cast<int64_t>(cpu::kKeyBlock) * kv_dim_; }

const uint16_t* KvCache::key_blocks(int32_t seq, int32_t layer) const { return keys_.data() + key_offset(seq, layer); }

void KvCache::write_key(int32_t seq, int32_t layer, int32_t pos, const float* key) {
  TANDEM_CHECK(pos >= 0 && pos < n_ctx_);
  uint16_t* block = keys_.data() + key_offset(seq, layer) + (pos / cpu::kKeyBlock) * key_block_stride();
  for (int32_t i = 0; i < kv_dim_; ++i) block[i * cpu::kKeyBlock + pos % cpu::kKeyBlock] = fp32_to_fp16(key[i]);
}

void KvCache::write_value(int32_t seq, int32_t layer, int32_t pos, const float* value) {
  TANDEM_CHECK(pos < n_ctx_);
  uint16_t* row = values(seq, layer, pos);
  for (int32_t i = 0; i < kv_dim_; ++i) row[i] = fp32_to_fp16(value[i]);
}

uint16_t KvCache::key(int32_t seq, int32_t layer, int32_t pos, int32_t i) const {
  TANDEM_CHECK(pos >= 0 && pos < n_ctx_ && i >= 0 && i < kv_dim_);
  return key_blocks(seq, layer)[(pos / cpu::kKeyBlock) * key_block_stride() + i * cpu::kKeyBlock + pos % cpu::kKeyBlock];
}

uint16_t* KvCache::values(int32_t seq, int32_t layer, int32_t pos) { return values_.data() + offset(seq, layer, pos); }

const uint16_t* KvCache::values(int32_t seq, int32_t layer, int32_t pos) const {
  return values_.data() + offset(seq, layer, pos);
}

void KvCache::set_length(int32_t seq, int32_t n) {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && n >= 0 && n <= n_ctx_);
  lengths_[static_cast<size_t>(seq)] = n;
}

void KvCache::clear(int32_t seq) {
  set_length(seq, 0);
  if (recurrent_) recurrent_->reset(seq);
}

int32_t KvCache::restorable_prefix(int32_t seq, int32_t n) const {
  const int32_t len = length(seq);
  if (!recurrent_) return std::min(n, len);
  return n >= len ? len : 0;
}

void KvCache::truncate(int32_t seq, int32_t n) {
  const int32_t keep = std::min(length(seq), n);
  // A recurrent state holds every token so far: it can be kept whole or reset, nothing between.
  TANDEM_CHECK_MSG(restorable_prefix(seq, keep) == keep, "truncating a recurrent state to a position it cannot restore");
  if (keep == 0) {
    clear(seq);
  } else {
    set_length(seq, keep);
  }
}

void KvCache::copy_prefix(int32_t src, int32_t dst, int32_t n) {
  TANDEM_CHECK(n <= length(src));
  TANDEM_CHECK_MSG(restorable_prefix(src, n) == n, "copying a recurrent state's prefix it cannot restore");
  if (recurrent_) {
    if (n == 0) {
      recurrent_->reset(dst);
    } else {
      recurrent_->copy(src, dst);
    }
  }
  if (src != dst) {
    // Whole key blocks: the positions past n in the last one are never read.
    const size_t key_values = static_cast<size_t>((n + cpu::kKeyBlock - 1) / cpu::kKeyBlock) * key_block_stride();
    for (int32_t layer = 0; layer < n_layer_; ++layer) {
      if (attn_index_[static_cast<size_t>(layer)] < 0) continue;
      std::copy_n(keys_.data() + key_offset(src, layer), key_values, keys_.data() + key_offset(dst, layer));
      std::copy_n(values(src, layer), static_cast<size_t>(n) * kv_dim_, values(dst, layer));
    }
  }
  set_length(dst, n);
}

}  // namespace tandem
