#pragma once
// A fixed-capacity ring of the most recent values: pushing past capacity drops the oldest.
// Not thread-safe; the monitor guards its store with one mutex.

#include <cstddef>
#include <vector>

namespace tandem::monitor {

template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(size_t capacity) : items_(capacity ? capacity : 1) {}

  void push(T item) {
    items_[(first_ + size_) % items_.size()] = std::move(item);
    if (size_ < items_.size()) {
      ++size_;
    } else {
      first_ = (first_ + 1) % items_.size();
    }
  }
  size_t size() const { return size_; }
  size_t capacity() const { return items_.size(); }
  // 0 = the oldest kept.
  const T& operator[](size_t i) const { return items_[(first_ + i) % items_.size()]; }
  const T& back() const { return (*this)[size_ - 1]; }

 private:
  std::vector<T> items_;
  size_t first_ = 0;
  size_t size_ = 0;
};

}  // namespace tandem::monitor
