#include "kv/recurrent_state.h"

#include <algorithm>

#include "core/check.h"

namespace tandem {

bool RecurrentShape::empty() const { return std::find(is_recurrent.begin(), is_recurrent.end(), true) == is_recurrent.end(); }

RecurrentState::RecurrentState(const RecurrentShape& shape, int32_t n_seq)
    : index_(shape.is_recurrent.size(), -1),
      conv_floats_(shape.conv_floats),
      state_floats_(shape.state_floats),
      n_seq_(n_seq) {
  TANDEM_CHECK(n_seq > 0 && shape.conv_floats >= 0 && shape.state_floats > 0);
  for (size_t il = 0; il < shape.is_recurrent.size(); ++il) {
    if (shape.is_recurrent[il]) index_[il] = n_recurrent_++;
  }
  TANDEM_CHECK(n_recurrent_ > 0);
  data_.assign(static_cast<size_t>(n_seq) * static_cast<size_t>(n_recurrent_) *
                   static_cast<size_t>(conv_floats_ + state_floats_),
               0.0f);
}

bool RecurrentState::is_recurrent(int32_t layer) const {
  return layer >= 0 && static_cast<size_t>(layer) < index_.size() && index_[static_cast<size_t>(layer)] >= 0;
}

float* RecurrentState::slot(int32_t seq, int32_t layer) {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_ && is_recurrent(layer));
  const size_t per_layer = static_cast<size_t>(conv_floats_ + state_floats_);
  return data_.data() +
         (static_cast<size_t>(seq) * static_cast<size_t>(n_recurrent_) + static_cast<size_t>(index_[static_cast<size_t>(layer)])) *
             per_layer;
}

float* RecurrentState::conv(int32_t seq, int32_t layer) { return slot(seq, layer); }

float* RecurrentState::state(int32_t seq, int32_t layer) { return slot(seq, layer) + conv_floats_; }

void RecurrentState::reset(int32_t seq) {
  TANDEM_CHECK(seq >= 0 && seq < n_seq_);
  const size_t per_seq = static_cast<size_t>(n_recurrent_) * static_cast<size_t>(conv_floats_ + state_floats_);
  std::fill_n(data_.data() + static_cast<size_t>(seq) * per_seq, per_seq, 0.0f);
}

void RecurrentState::copy(int32_t src, int32_t dst) {
  TANDEM_CHECK(src >= 0 && src < n_seq_ && dst >= 0 && dst < n_seq_);
  if (src == dst) return;
  const size_t per_seq = static_cast<size_t>(n_recurrent_) * static_cast<size_t>(conv_floats_ + state_floats_);
  std::copy_n(data_.data() + static_cast<size_t>(src) * per_seq, per_seq, data_.data() + static_cast<size_t>(dst) * per_seq);
}

}  // namespace tandem
