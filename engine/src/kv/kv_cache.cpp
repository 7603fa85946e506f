#include "kv/kv_cache.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

KvCache::KvCache(int32_t n_layer, int32_t n_ctx, int32_t kv_dim, int32_t n_seq)
    : n_layer_(n_layer), n_ctx_(n_ctx), kv_dim_(kv_dim), n_seq_(n_seq), lengths_(static_cast<size_t>(n_seq), 0) {
  TANDEM_CHECK(n_layer > 0 && n_ctx > 0 && kv_dim > 0 && n_seq > 0);
  const size_t n = static_cast<size_t>(n_seq) * n_layer * n_ctx * kv_dim;
  keys_.resize(n);
  values_.resize(n);
}

size_t KvCache::offset(int32_t seq, int32_t layer, int32_t pos) const {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && layer >= 0 && layer < n_layer_ && pos >= 0 && pos <= n_ctx_);
  return ((static_cast<size_t>(seq) * n_layer_ + layer) * n_ctx_ + pos) * kv_dim_;
}

uint16_t* KvCache::keys(int32_t seq, int32_t layer, int32_t pos) { return keys_.data() + offset(seq, layer, pos); }

uint16_t* KvCache::values(int32_t seq, int32_t layer, int32_t pos) { return values_.data() + offset(seq, layer, pos); }

void KvCache::set_length(int32_t seq, int32_t n) {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && n >= 0 && n <= n_ctx_);
  lengths_[static_cast<size_t>(seq)] = n;
}

void KvCache::truncate(int32_t seq, int32_t n) { set_length(seq, std::min(length(seq), n)); }

void KvCache::copy_prefix(int32_t src, int32_t dst, int32_t n) {
  TANDEM_CHECK(n <= length(src));
  if (src != dst) {
    for (int32_t layer = 0; layer < n_layer_; ++layer) {
      std::copy_n(keys(src, layer), static_cast<size_t>(n) * kv_dim_, keys(dst, layer));
      std::copy_n(values(src, layer), static_cast<size_t>(n) * kv_dim_, values(dst, layer));
    }
  }
  set_length(dst, n);
}

}  // namespace tandem
