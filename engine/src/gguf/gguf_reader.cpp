#include "gguf/gguf_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <sstream>
#include <unordered_set>

namespace tandem::gguf {

// Owns the bytes of a file: either a read-only mapping or a heap copy.
struct FileBytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool mapped = false;
  std::vector<uint8_t> heap;

  FileBytes() = default;
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;
  ~FileBytes() {
    if (mapped && data) munmap(const_cast<uint8_t*>(data), size);
  }
};

namespace {

// Arrays nest in principle; real files use one level. Deeper nesting is refused as hostile.
constexpr int kMaxArrayDepth = 3;

// Bounded little-endian reader over the file bytes. Every read checks the remaining length,
// so a truncated or lying file ends in an error, not a read past the end.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  Result<T> read(const char* what) {
    if (remaining() < sizeof(T)) return truncated(what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string> read_string(const char* what) {
    auto len = read<uint64_t>(what);
    if (!len) return Error{len.error()};
    if (*len > remaining()) {
      std::ostringstream msg;
      msg << what << " at offset " << pos_ - 8 << " claims " << *len << " bytes but only " << remaining()
          << " remain (truncated or corrupt file)";
      return make_error(msg.str());
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(*len));
    pos_ += static_cast<size_t>(*len);
    return s;
  }

  Error truncated(const char* what) const {
    std::ostringstream msg;
    msg << "file ends inside " << what << " at offset " << pos_ << " (truncated file)";
    return make_error(msg.str());
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Smallest encoded size of one value of a type; bounds array counts before any allocation.
size_t min_encoded_size(ValueType type) {
  switch (type) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::BOOL: return 1;
    case ValueType::UINT16:
    case ValueType::INT16: return 2;
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::FLOAT32: return 4;
    case ValueType::UINT64:
    case ValueType::INT64:
    case ValueType::FLOAT64:
    case ValueType::STRING: return 8;
    case ValueType::ARRAY: return 12;
  }
  return 1;
}

Result<Value> read_value(Cursor& cur, ValueType type, int depth);

template <typename T>
Result<Value> read_scalar(Cursor& cur, ValueType type) {
  auto v = cur.read<T>("a metadata value");
  if (!v) return Error{v.error()};
  if constexpr (std::is_floating_point_v<T>) {
    return Value::make_float(type, static_cast<double>(*v));
  } else if constexpr (std::is_signed_v<T>) {
    return Value::make_int(type, static_cast<int64_t>(*v));
  } else {
    return Value::make_uint(type, static_cast<uint64_t>(*v));
  }
}

Result<Value> read_array(Cursor& cur, int depth) {
  if (depth >= kMaxArrayDepth) return make_error("metadata arrays nested deeper than 3 levels (corrupt file)");
  auto elem_id = cur.read<uint32_t>("an array type");
  if (!elem_id) return Error{elem_id.error()};
  if (!value_type_is_valid(*elem_id)) {
    return make_error("unknown metadata array element type " + std::to_string(*elem_id));
  }
  auto elem_type = static_cast<ValueType>(*elem_id);
  auto count = cur.read<uint64_t>("an array length");
  if (!count) return Error{count.error()};
  if (*count > cur.remaining() / min_encoded_size(elem_type)) {
    std::ostringstream msg;
    msg << "metadata array claims " << *count << " elements but only " << cur.remaining()
        << " bytes remain (truncated or corrupt file)";
    return make_error(msg.str());
  }
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(*count));
  for (uint64_t i = 0; i < *count; ++i) {
    auto item = read_value(cur, elem_type, depth + 1);
    if (!item) return item;
    items.push_back(std::move(item).value());
  }
  return Value::make_array(elem_type, std::move(items));
}

Result<Value> read_value(Cursor& cur, ValueType type, int depth) {
  switch (type) {
    case ValueType::UINT8: return read_scalar<uint8_t>(cur, type);
    case ValueType::INT8: return read_scalar<int8_t>(cur, type);
    case ValueType::UINT16: return read_scalar<uint16_t>(cur, type);
    case ValueType::INT16: return read_scalar<int16_t>(cur, type);
    case ValueType::UINT32: return read_scalar<uint32_t>(cur, type);
    case ValueType::INT32: return read_scalar<int32_t>(cur, type);
    case ValueType::UINT64: return read_scalar<uint64_t>(cur, type);
    case ValueType::INT64: return read_scalar<int64_t>(cur, type);
    case ValueType::FLOAT32: return read_scalar<float>(cur, type);
    case ValueType::FLOAT64: return read_scalar<double>(cur, type);
    case ValueType::BOOL: {
      auto b = cur.read<uint8_t>("a bool value");
      if (!b) return Error{b.error()};
      if (*b > 1) return make_error("bool metadata value is " + std::to_string(*b) + ", not 0 or 1 (corrupt file)");
      return Value::make_bool(*b == 1);
    }
    case ValueType::STRING: {
      auto s = cur.read_string("a string value");
      if (!s) return Error{s.error()};
      return Value::make_string(std::move(s).value());
    }
    case ValueType::ARRAY: return read_array(cur, depth);
  }
  return make_error("unknown metadata value type");
}

// a * b, or nullopt on overflow of uint64.
std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return std::nullopt;
  return a * b;
}

Result<TensorInfo> read_tensor_info(Cursor& cur) {
  TensorInfo t;
  auto name = cur.read_string("a tensor name");
  if (!name) return Error{name.error()};
  t.name = std::move(name).value();
  if (t.name.empty()) return make_error("a tensor has an empty name (corrupt file)");
  if (t.name.size() > 255) return make_error("tensor name longer than 255 bytes (corrupt file)");
  auto n_dims = cur.read<uint32_t>("a tensor's dimension count");
  if (!n_dims) return Error{n_dims.error()};
  if (*n_dims == 0 || *n_dims > static_cast<uint32_t>(kMaxDims)) {
    return make_error("tensor '" + t.name + "' has " + std::to_string(*n_dims) + " dimensions; 1 to 4 are allowed");
  }
  uint64_t n_elements = 1;
  for (uint32_t d = 0; d < *n_dims; ++d) {
    auto dim = cur.read<uint64_t>("a tensor dimension");
    if (!dim) return Error{dim.error()};
    if (*dim > static_cast<uint64_t>(INT64_MAX)) {
      return make_error("tensor '" + t.name + "' has a dimension larger than 2^63 (corrupt file)");
    }
    auto product = checked_mul(n_elements, *dim);
    if (!product || *product > static_cast<uint64_t>(INT64_MAX)) {
      return make_error("tensor '" + t.name + "' has more elements than fit in 64 bits (corrupt file)");
    }
    n_elements = *product;
    t.shape.push_back(static_cast<int64_t>(*dim));
  }
  auto type_id = cur.read<uint32_t>("a tensor type");
  if (!type_id) return Error{type_id.error()};
  auto traits = ggml_type_traits(*type_id);
  if (!traits) {
    return make_error("tensor '" + t.name + "' has unknown type id " + std::to_string(*type_id));
  }
  t.type = static_cast<GgmlType>(*type_id);
  if (t.shape[0] % traits->block_size != 0) {
    std::ostringstream msg;
    msg << "tensor '" << t.name << "' of type " << traits->name << " has row length " << t.shape[0]
        << ", not a multiple of its block size " << traits->block_size;
    return make_error(msg.str());
  }
  auto n_bytes = checked_mul(n_elements / traits->block_size, traits->type_size);
  if (!n_bytes || *n_bytes > static_cast<uint64_t>(std::numeric_limits<size_t>::max() / 2)) {
    return make_error("tensor '" + t.name + "' size overflows (corrupt file)");
  }
  t.n_bytes = static_cast<size_t>(*n_bytes);
  auto offset = cur.read<uint64_t>("a tensor offset");
  if (!offset) return Error{offset.error()};
  t.offset = *offset;
  return t;
}

}  // namespace

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_string() const {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

size_t GgufFile::file_size() const { return bytes_ ? bytes_->size : 0; }

void GgufFile::release_pages(const void* begin, size_t bytes) const {
  if (!bytes_ || !bytes_->mapped || bytes == 0) return;
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<uintptr_t>(begin);
  const uintptr_t first = (start + page - 1) / page * page;
  const uintptr_t last = (start + bytes) / page * page;
  // Advice only: failure leaves the pages mapped, which costs memory, not correctness.
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return make_error(path + ": cannot open: " + std::strerror(errno));
  struct stat st{};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return make_error(path + ": cannot stat: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(path + ": not a regular file");
  }
  auto bytes = std::make_shared<FileBytes>();
  bytes->size = static_cast<size_t>(st.st_size);
  if (bytes->size > 0) {
    void* addr = mmap(nullptr, bytes->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return make_error(path + ": cannot map: " + std::strerror(err));
    }
    bytes->data = static_cast<const uint8_t*>(addr);
    bytes->mapped = true;
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  auto parsed = parse_owned(std::move(bytes));
  if (!parsed) return make_error(path + ": " + parsed.error());
  return parsed;
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes) {
  auto owned = std::make_shared<FileBytes>();
  owned->heap.assign(bytes.begin(), bytes.end());
  owned->data = owned->heap.data();
  owned->size = owned->heap.size();
  return parse_owned(std::move(owned));
}

Result<GgufFile> GgufFile::parse_owned(std::shared_ptr<FileBytes> bytes) {
  GgufFile file;
  file.bytes_ = std::move(bytes);
  Cursor cur(file.bytes_->data, file.bytes_->size);

  auto magic = cur.read<uint32_t>("the file header");
  if (!magic) return make_error("not a GGUF file: too short for a header");
  if (*magic != kMagic) {
    char shown[5] = {};
    std::memcpy(shown, file.bytes_->data, 4);
    for (char& c : shown) {
      if (c && (c < 32 || c > 126)) c = '?';
    }
    return make_error(std::string("not a GGUF file: magic is \"") + shown + "\", expected \"GGUF\"");
  }
  auto version = cur.read<uint32_t>("the file header");
  if (!version) return Error{version.error()};
  if (*version == 1) {
    return make_error("GGUF version 1 is obsolete and not supported; convert the model again with a current converter (versions 2 and 3 load)");
  }
  if (*version != 2 && *version != 3) {
    if ((*version & 0xFFFF) == 0 && (*version >> 16) != 0) {
      return make_error("GGUF file is big-endian (version field byte-swapped); only little-endian files are supported");
    }
    return make_error("unsupported GGUF version " + std::to_string(*version) + " (versions 2 and 3 load)");
  }
  file.version_ = *version;

  auto n_tensors = cur.read<uint64_t>("the file header");
  if (!n_tensors) return Error{n_tensors.error()};
  auto n_kv = cur.read<uint64_t>("the file header");
  if (!n_kv) return Error{n_kv.error()};
  // Each key/value takes at least 13 bytes and each tensor info at least 24: counts that could
  // not fit in the file are lies, refused before anything is reserved.
  if (*n_kv > cur.remaining() / 13) {
    return make_error("header claims " + std::to_string(*n_kv) + " metadata entries, more than the file can hold (truncated or corrupt file)");
  }
  if (*n_tensors > cur.remaining() / 24) {
    return make_error("header claims " + std::to_string(*n_tensors) + " tensors, more than the file can hold (truncated or corrupt file)");
  }

  std::unordered_set<std::string> keys;
  file.metadata_.reserve(static_cast<size_t>(*n_kv));
  for (uint64_t i = 0; i < *n_kv; ++i) {
    auto key = cur.read_string("a metadata key");
    if (!key) return Error{key.error()};
    if (key->empty()) return make_error("metadata entry " + std::to_string(i) + " has an empty key (corrupt file)");
    if (!keys.insert(*key).second) return make_error("duplicate metadata key '" + *key + "'");
    auto type_id = cur.read<uint32_t>("a metadata type");
    if (!type_id) return Error{type_id.error()};
    if (!value_type_is_valid(*type_id)) {
      return make_error("metadata key '" + *key + "' has unknown value type " + std::to_string(*type_id));
    }
    auto value = read_value(cur, static_cast<ValueType>(*type_id), 0);
    if (!value) return make_error("metadata key '" + *key + "': " + value.error());
    file.metadata_.emplace_back(std::move(key).value(), std::move(value).value());
  }

  if (const Value* align = file.find("general.alignment")) {
    auto a = align->as_uint();
    if (!a || *a == 0 || (*a & (*a - 1)) != 0 || *a > 1024 * 1024) {
      return make_error("general.alignment must be a power of two up to 1 MiB, got " + align->to_display_string());
    }
    file.alignment_ = static_cast<size_t>(*a);
  }

  std::unordered_set<std::string> names;
  file.tensors_.reserve(static_cast<size_t>(*n_tensors));
  for (uint64_t i = 0; i < *n_tensors; ++i) {
    auto info = read_tensor_info(cur);
    if (!info) return Error{info.error()};
    if (!names.insert(info->name).second) return make_error("duplicate tensor name '" + info->name + "'");
    file.tensors_.push_back(std::move(info).value());
  }

  // The data section starts at the next multiple of the alignment.
  size_t header_end = cur.position();
  size_t data_offset = (header_end + file.alignment_ - 1) / file.alignment_ * file.alignment_;
  if (data_offset > file.bytes_->size) {
    if (file.tensors_.empty()) data_offset = file.bytes_->size;
    else return make_error("file ends before its tensor data section (truncated file)");
  }
  file.data_offset_ = data_offset;
  size_t data_size = file.bytes_->size - data_offset;
  for (TensorInfo& t : file.tensors_) {
    if (t.offset % file.alignment_ != 0) {
      return make_error("tensor '" + t.name + "' data offset " + std::to_string(t.offset) + " is not aligned to " +
                        std::to_string(file.alignment_) + " bytes (corrupt file)");
    }
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      std::ostringstream msg;
      msg << "tensor '" << t.name << "' (" << t.n_bytes << " bytes at data offset " << t.offset
          << ") extends past the end of the file (truncated or corrupt file)";
      return make_error(msg.str());
    }
    t.data = file.bytes_->data + data_offset + t.offset;
  }
  return file;
}

const Value* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (!v || !v->as_string()) return std::nullopt;
  return *v->as_string();
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_int() : std::nullopt;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_float() : std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}

const Array* GgufFile::get_array(std::string_view key) const {
  const Value* v = find(key);
  return v ? v->as_array() : nullptr;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const TensorInfo& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace tandem::gguf
