#pragma once
// GGUF reader (versions 2 and 3), memory-mapped. Everything in the file is validated before use:
// a truncated, hostile or obsolete file yields a one-line error, never a crash or a huge allocation.
// Tensor data is never copied: TensorInfo::data points into the mapping, which lives as long as
// any copy of the GgufFile.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "gguf/gguf_value.h"
#include "quant/ggml_type.h"

namespace tandem::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian uint32
inline constexpr size_t kDefaultAlignment = 32;
inline constexpr int kMaxDims = 4;

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the contiguous (row) dimension
  uint64_t offset = 0;         // relative to the start of the data section
  size_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  int64_t n_elements() const;
  int64_t n_rows() const { return shape.empty() || shape[0] == 0 ? 0 : n_elements() / shape[0]; }
  std::string shape_string() const;  // "[64, 512]"
};

struct FileBytes;  // the mapping or buffer that owns the bytes

class GgufFile {
 public:
  // Maps the file read-only and parses it.
  static Result<GgufFile> open(const std::string& path);
  // Parses bytes already in memory (copied once), e.g. for fuzzing.
  static Result<GgufFile> parse(std::span<const uint8_t> bytes);

  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }
  size_t file_size() const;

  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;

  // Typed look-ups: nullopt when missing; an error-free default is the caller's business.
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  const Array* get_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

  // Drops the whole pages of a mapped range from this process's memory once a copy of them was
  // made (repacked weights), so they stop counting towards its RSS. Reading them later faults
  // them back in from the page cache. A no-op for files parsed from memory.
  void release_pages(const void* begin, size_t bytes) const;

 private:
  static Result<GgufFile> parse_owned(std::shared_ptr<FileBytes> bytes);

  std::shared_ptr<FileBytes> bytes_;
  uint32_t version_ = 0;
  size_t alignment_ = kDefaultAlignment;
  size_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorInfo> tensors_;
};

}  // namespace tandem::gguf
