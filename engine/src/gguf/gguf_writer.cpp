#include "gguf/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>

#include "core/check.h"
#include "gguf/gguf_reader.h"

namespace tandem::gguf {
namespace {

class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    append(&v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    append(s.data(), s.size());
  }
  void pad_to(size_t alignment) {
    while (out_.size() % alignment != 0) out_.push_back(0);
  }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  // resize + memcpy rather than insert(): GCC 12 reports a false stringop-overflow on insert.
  void append(const void* p, size_t n) {
    if (n == 0) return;
    size_t old = out_.size();
    out_.resize(old + n);
    std::memcpy(out_.data() + old, p, n);
  }

  std::vector<uint8_t> out_;
};

void put_value(ByteSink& sink, const Value& v) {
  switch (v.type()) {
    case ValueType::UINT8: sink.put<uint8_t>(static_cast<uint8_t>(*v.as_uint())); break;
    case ValueType::INT8: sink.put<int8_t>(static_cast<int8_t>(*v.as_int())); break;
    case ValueType::UINT16: sink.put<uint16_t>(static_cast<uint16_t>(*v.as_uint())); break;
    case ValueType::INT16: sink.put<int16_t>(static_cast<int16_t>(*v.as_int())); break;
    case ValueType::UINT32: sink.put<uint32_t>(static_cast<uint32_t>(*v.as_uint())); break;
    case ValueType::INT32: sink.put<int32_t>(static_cast<int32_t>(*v.as_int())); break;
    case ValueType::UINT64: sink.put<uint64_t>(*v.as_uint()); break;
    case ValueType::INT64: sink.put<int64_t>(*v.as_int()); break;
    case ValueType::FLOAT32: sink.put<float>(static_cast<float>(*v.as_float())); break;
    case ValueType::FLOAT64: sink.put<double>(*v.as_float()); break;
    case ValueType::BOOL: sink.put<uint8_t>(*v.as_bool() ? 1 : 0); break;
    case ValueType::STRING: sink.put_string(*v.as_string()); break;
    case ValueType::ARRAY: {
      const Array* a = v.as_array();
      sink.put<uint32_t>(static_cast<uint32_t>(a->element_type));
      sink.put<uint64_t>(a->items.size());
      for (const Value& item : a->items) {
        TANDEM_CHECK(item.type() == a->element_type);
        put_value(sink, item);
      }
      break;
    }
  }
}

}  // namespace

GgufWriter::GgufWriter() : file_(nullptr, &std::fclose) {}
GgufWriter::~GgufWriter() = default;
GgufWriter::GgufWriter(const GgufWriter& other)
    : metadata_(other.metadata_), tensors_(other.tensors_), file_(nullptr, &std::fclose) {
  TANDEM_CHECK_MSG(!other.file_, "copying a GgufWriter that is streaming");
}
GgufWriter& GgufWriter::operator=(const GgufWriter& other) {
  TANDEM_CHECK_MSG(!other.file_ && !file_, "copying a GgufWriter that is streaming");
  metadata_ = other.metadata_;
  tensors_ = other.tensors_;
  return *this;
}
GgufWriter::GgufWriter(GgufWriter&&) noexcept = default;
GgufWriter& GgufWriter::operator=(GgufWriter&&) noexcept = default;

void GgufWriter::set(const std::string& key, Value value) {
  TANDEM_CHECK_MSG(!file_, "metadata set after open()");
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

namespace {

size_t checked_tensor_bytes(GgmlType type, const std::vector<int64_t>& shape) {
  TANDEM_CHECK(!shape.empty() && shape.size() <= static_cast<size_t>(kMaxDims));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  TANDEM_CHECK(shape[0] % ggml_type_traits(type).block_size == 0);
  return ggml_row_size(type, n);
}

}  // namespace

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape, const void* data,
                            size_t n_bytes) {
  TANDEM_CHECK_MSG(!file_, "tensor added after open()");
  TANDEM_CHECK(checked_tensor_bytes(type, shape) == n_bytes);
  const auto* p = static_cast<const uint8_t*>(data);
  tensors_.push_back(PendingTensor{name, type, std::move(shape), n_bytes, std::vector<uint8_t>(p, p + n_bytes)});
}

void GgufWriter::add_tensor_info(const std::string& name, GgmlType type, std::vector<int64_t> shape) {
  TANDEM_CHECK_MSG(!file_, "tensor added after open()");
  const size_t n_bytes = checked_tensor_bytes(type, shape);
  tensors_.push_back(PendingTensor{name, type, std::move(shape), n_bytes, std::nullopt});
}

size_t GgufWriter::alignment() const {
  for (const auto& [k, v] : metadata_) {
    if (k == "general.alignment" && v.as_uint()) return static_cast<size_t>(*v.as_uint());
  }
  return kDefaultAlignment;
}

std::vector<uint8_t> GgufWriter::header_bytes() const {
  const size_t align = alignment();
  ByteSink sink;
  sink.put<uint32_t>(kMagic);
  sink.put<uint32_t>(3);
  sink.put<uint64_t>(tensors_.size());
  sink.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    sink.put_string(key);
    sink.put<uint32_t>(static_cast<uint32_t>(value.type()));
    put_value(sink, value);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    sink.put_string(t.name);
    sink.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) sink.put<uint64_t>(static_cast<uint64_t>(d));
    sink.put<uint32_t>(static_cast<uint32_t>(t.type));
    sink.put<uint64_t>(offset);
    offset += (t.n_bytes + align - 1) / align * align;
  }
  sink.pad_to(align);
  return sink.take();
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  const size_t align = alignment();
  std::vector<uint8_t> out = header_bytes();
  for (const PendingTensor& t : tensors_) {
    TANDEM_CHECK_MSG(t.data.has_value(), "to_bytes() with a tensor declared for streaming");
    // resize + memcpy rather than insert(): GCC 12 reports a false stringop-overflow on insert.
    const size_t old = out.size();
    out.resize((old + t.n_bytes + align - 1) / align * align, 0);
    if (t.n_bytes != 0) std::memcpy(out.data() + old, t.data->data(), t.n_bytes);
  }
  return out;
}

Status GgufWriter::write(const std::string& path) const {
  GgufWriter copy(*this);
  if (auto ok = copy.open(path); !ok) return ok;
  return copy.finish();
}

Status GgufWriter::put(const void* data, size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, file_.get()) != n) {
    return make_error(path_ + ": write failed: " + std::strerror(errno));
  }
  return ok_status();
}

Status GgufWriter::open(const std::string& path) {
  TANDEM_CHECK_MSG(!file_, "open() twice");
  path_ = path;
  file_.reset(std::fopen(path.c_str(), "wb"));
  if (!file_) return make_error(path + ": cannot create: " + std::strerror(errno));
  next_tensor_ = 0;
  written_in_tensor_ = 0;
  const std::vector<uint8_t> header = header_bytes();
  if (auto ok = put(header.data(), header.size()); !ok) return ok;
  return flush_stored();
}

Status GgufWriter::flush_stored() {
  while (next_tensor_ < tensors_.size() && tensors_[next_tensor_].data.has_value()) {
    const std::vector<uint8_t>& bytes = *tensors_[next_tensor_].data;
    if (auto ok = write_piece(bytes.data(), bytes.size()); !ok) return ok;
  }
  return ok_status();
}

Status GgufWriter::write_tensor_data(const void* data, size_t n_bytes) {
  TANDEM_CHECK_MSG(file_ != nullptr, "write_tensor_data() before open()");
  TANDEM_CHECK_MSG(next_tensor_ < tensors_.size() && !tensors_[next_tensor_].data.has_value(),
                   "more tensor data than declared");
  if (auto ok = write_piece(data, n_bytes); !ok) return ok;
  // Tensors whose bytes were copied in add_tensor() follow without the caller's help.
  return flush_stored();
}

Status GgufWriter::write_piece(const void* data, size_t n_bytes) {
  TANDEM_CHECK_MSG(next_tensor_ < tensors_.size(), "more tensor data than declared");
  const PendingTensor& t = tensors_[next_tensor_];
  TANDEM_CHECK_MSG(written_in_tensor_ + n_bytes <= t.n_bytes, "tensor data runs past the tensor's size");
  if (auto ok = put(data, n_bytes); !ok) return ok;
  written_in_tensor_ += n_bytes;
  if (written_in_tensor_ == t.n_bytes) {
    const size_t align = alignment();
    static constexpr uint8_t kZeros[256] = {};
    size_t pad = (align - t.n_bytes % align) % align;
    while (pad > 0) {
      const size_t n = std::min(pad, sizeof(kZeros));
      if (auto ok = put(kZeros, n); !ok) return ok;
      pad -= n;
    }
    ++next_tensor_;
    written_in_tensor_ = 0;
  }
  return ok_status();
}

Status GgufWriter::finish() {
  TANDEM_CHECK_MSG(file_ != nullptr, "finish() before open()");
  if (next_tensor_ != tensors_.size()) {
    file_.reset();
    return make_error(path_ + ": tensor " + tensors_[next_tensor_].name + " was never written");
  }
  if (std::fclose(file_.release()) != 0) return make_error(path_ + ": close failed: " + std::strerror(errno));
  return ok_status();
}

}  // namespace tandem::gguf
