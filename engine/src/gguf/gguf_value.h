#pragma once
// A GGUF metadata value: a scalar, a string, or an array of values (arrays may nest).
// Type ids follow the GGUF specification and are stored in files.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tandem::gguf {

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

std::string_view value_type_name(ValueType type);
bool value_type_is_valid(uint32_t id);

class Value;
struct Array {
  ValueType element_type = ValueType::UINT8;
  std::vector<Value> items;
};

class Value {
 public:
  Value() = default;
  static Value make_uint(ValueType type, uint64_t v);
  static Value make_int(ValueType type, int64_t v);
  static Value make_float(ValueType type, double v);
  static Value make_bool(bool v);
  static Value make_string(std::string v);
  static Value make_array(ValueType element_type, std::vector<Value> items);

  ValueType type() const { return type_; }
  bool is_integer() const;
  bool is_float() const { return type_ == ValueType::FLOAT32 || type_ == ValueType::FLOAT64; }

  // Accessors return nullopt/nullptr when the value has another type. as_int accepts every
  // integer type that fits in int64; as_float accepts floats and integers.
  std::optional<int64_t> as_int() const;
  std::optional<uint64_t> as_uint() const;
  std::optional<double> as_float() const;
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const Array* as_array() const;

  // Human-readable rendering for `tandem inspect`; long arrays are elided after max_items.
  std::string to_display_string(size_t max_items = 8) const;

 private:
  ValueType type_ = ValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data_ = uint64_t{0};
};

}  // namespace tandem::gguf
