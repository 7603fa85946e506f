#include "kv/kv_cache.h"

#include <algorithm>

#include "core/check.h"
#include "kernels/cpu/attention.h"
#include "quant/fp16.h"

namespace tandem {

KvCache::KvCache(int32_t n_layer, int32_t n_ctx, int32_t kv_dim, int32_t n_seq)
    : n_layer_(n_layer),
      n_ctx_(n_ctx),
      n_ctx_blocked_((n_ctx + cpu::kKeyBlock - 1) / cpu::kKeyBlock * cpu::kKeyBlock),
      kv_dim_(kv_dim),
      n_seq_(n_seq),
      lengths_(static_cast<size_t>(n_seq), 0) {
  TANDEM_CHECK(n_layer > 0 && n_ctx > 0 && kv_dim > 0 && n_seq > 0);
  keys_.resize(static_cast<size_t>(n_seq) * n_layer * n_ctx_blocked_ * kv_dim);
  values_.resize(static_cast<size_t>(n_seq) * n_layer * n_ctx * kv_dim);
}

size_t KvCache::offset(int32_t seq, int32_t layer, int32_t pos) const {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && layer >= 0 && layer < n_layer_ && pos >= 0 && pos <= n_ctx_);
  return ((static_cast<size_t>(seq) * n_layer_ + layer) * n_ctx_ + pos) * kv_dim_;
}

size_t KvCache::key_offset(int32_t seq, int32_t layer) const {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && layer >= 0 && layer < n_layer_);
  return (static_cast<size_t>(seq) * n_layer_ + layer) * n_ctx_blocked_ * kv_dim_;
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

void KvCache::truncate(int32_t seq, int32_t n) { set_length(seq, std::min(length(seq), n)); }

void KvCache::copy_prefix(int32_t src, int32_t dst, int32_t n) {
  TANDEM_CHECK(n <= length(src));
  if (src != dst) {
    // Whole key blocks: the positions past n in the last one are never read.
    const size_t key_values = static_cast<size_t>((n + cpu::kKeyBlock - 1) / cpu::kKeyBlock) * key_block_stride();
    for (int32_t layer = 0; layer < n_layer_; ++layer) {
      std::copy_n(keys_.data() + key_offset(src, layer), key_values, keys_.data() + key_offset(dst, layer));
      std::copy_n(values(src, layer), static_cast<size_t>(n) * kv_dim_, values(dst, layer));
    }
  }
  set_length(dst, n);
}

}  // namespace tandem
