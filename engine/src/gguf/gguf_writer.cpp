#include "gguf/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
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
  void put_bytes(const std::vector<uint8_t>& bytes) { append(bytes.data(), bytes.size()); }
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

void GgufWriter::set(const std::string& key, Value value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> shape, const void* data,
                            size_t n_bytes) {
  TANDEM_CHECK(!shape.empty() && shape.size() <= static_cast<size_t>(kMaxDims));
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  TANDEM_CHECK(shape[0] % ggml_type_traits(type).block_size == 0);
  TANDEM_CHECK(ggml_row_size(type, n) == n_bytes);
  const auto* p = static_cast<const uint8_t*>(data);
  tensors_.push_back(PendingTensor{name, type, std::move(shape), std::vector<uint8_t>(p, p + n_bytes)});
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  size_t alignment = kDefaultAlignment;
  for (const auto& [k, v] : metadata_) {
    if (k == "general.alignment" && v.as_uint()) alignment = static_cast<size_t>(*v.as_uint());
  }
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
    offset += (t.data.size() + alignment - 1) / alignment * alignment;
  }
  sink.pad_to(alignment);
  for (const PendingTensor& t : tensors_) {
    sink.put_bytes(t.data);
    sink.pad_to(alignment);
  }
  return sink.take();
}

Status GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> bytes = to_bytes();
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return make_error(path + ": cannot create: " + std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return make_error(path + ": write failed: " + std::strerror(errno));
  }
  if (std::fclose(f.release()) != 0) return make_error(path + ": close failed: " + std::strerror(errno));
  return ok_status();
}

}  // namespace tandem::gguf
