#pragma once
// GGUF writer (version 3). Metadata and tensors are written in the order they were added;
// tensor data is aligned to general.alignment (32 unless set).

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "gguf/gguf_value.h"
#include "quant/ggml_type.h"

namespace tandem::gguf {

class GgufWriter {
 public:
  void set(const std::string& key, Value value);  // replaces an existing key
  // Copies the bytes; shape in ggml order. Checks that bytes match type and shape.
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape,
                  const void* data, size_t n_bytes);

  Status write(const std::string& path) const;
  std::vector<uint8_t> to_bytes() const;

 private:
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
  };
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace tandem::gguf
