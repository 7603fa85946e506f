#pragma once
// Builds small GGUF files byte by byte, valid or deliberately broken, for the reader's tests.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tandem::testing {

class GgufBytes {
 public:
  template <typename T>
  GgufBytes& put(T v) {
    size_t old = bytes.size();
    bytes.resize(old + sizeof(T));
    std::memcpy(bytes.data() + old, &v, sizeof(T));
    return *this;
  }
  GgufBytes& str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    put<uint32_t>(0x46554747).put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
    return *this;
  }
  GgufBytes& pad(size_t alignment = 32) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

}  // namespace tandem::testing
