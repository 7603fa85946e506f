#pragma once
// GGUF writer (version 3). Metadata and tensors are written in the order they were added;
// tensor data is aligned to general.alignment (32 unless set).
//
// Two ways to use it:
// - in memory: add_tensor() copies each tensor's bytes, then write() or to_bytes();
// - streaming, for files larger than memory: declare every tensor with add_tensor_info()
//   (the header needs all names, types and shapes up front), open() writes the header, then
//   write_tensor_data() appends each declared tensor's bytes in order, in as many pieces as the
//   caller likes, and finish() closes the file. Tensors added with add_tensor() in between are
//   written from their copy when their turn comes.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "gguf/gguf_value.h"
#include "quant/ggml_type.h"

namespace tandem::gguf {

class GgufWriter {
 public:
  GgufWriter();
  ~GgufWriter();
  // Copies carry metadata and tensors, never an open file (copying while streaming is a bug).
  GgufWriter(const GgufWriter& other);
  GgufWriter& operator=(const GgufWriter& other);
  GgufWriter(GgufWriter&&) noexcept;
  GgufWriter& operator=(GgufWriter&&) noexcept;

  void set(const std::string& key, Value value);  // replaces an existing key
  // Copies the bytes; shape in ggml order. Checks that bytes match type and shape.
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape,
                  const void* data, size_t n_bytes);
  // Declares a tensor whose bytes will come through write_tensor_data().
  void add_tensor_info(const std::string& name, GgmlType type, std::vector<int64_t> shape);

  Status write(const std::string& path) const;
  std::vector<uint8_t> to_bytes() const;

  // Streaming. open() writes the header; no metadata or tensor may be added afterwards.
  Status open(const std::string& path);
  // Appends bytes of the next declared tensor; a tensor is complete when all its bytes came.
  // A piece may not run past the end of the current tensor (checked: a caller bug).
  Status write_tensor_data(const void* data, size_t n_bytes);
  // Checks that every tensor was written in full and closes the file.
  Status finish();

 private:
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    size_t n_bytes = 0;
    std::optional<std::vector<uint8_t>> data;  // absent for add_tensor_info()
  };
  size_t alignment() const;
  std::vector<uint8_t> header_bytes() const;
  // Writes stored tensors that are next in line, padding as it goes.
  Status flush_stored();
  Status write_piece(const void* data, size_t n_bytes);  // into the current tensor, padding at its end
  Status put(const void* data, size_t n);

  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;

  // Streaming state.
  std::string path_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
  size_t next_tensor_ = 0;    // the tensor write_tensor_data() fills
  size_t written_in_tensor_ = 0;
};

}  // namespace tandem::gguf
