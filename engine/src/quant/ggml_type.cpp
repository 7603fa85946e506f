#include "quant/ggml_type.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "core/check.h"

namespace tandem {
namespace {

struct Entry {
  GgmlType type;
  GgmlTypeTraits traits;
  bool supported;
};

// Geometry from the GGUF/ggml format description.
constexpr std::array kEntries = {
    Entry{GgmlType::F32, {"F32", 1, 4}, true},
    Entry{GgmlType::F16, {"F16", 1, 2}, true},
    Entry{GgmlType::Q4_0, {"Q4_0", 32, 18}, true},
    Entry{GgmlType::Q4_1, {"Q4_1", 32, 20}, true},
    Entry{GgmlType::Q5_0, {"Q5_0", 32, 22}, true},
    Entry{GgmlType::Q5_1, {"Q5_1", 32, 24}, true},
    Entry{GgmlType::Q8_0, {"Q8_0", 32, 34}, true},
    Entry{GgmlType::Q8_1, {"Q8_1", 32, 36}, true},
    Entry{GgmlType::Q2_K, {"Q2_K", 256, 84}, true},
    Entry{GgmlType::Q3_K, {"Q3_K", 256, 110}, true},
    Entry{GgmlType::Q4_K, {"Q4_K", 256, 144}, true},
    Entry{GgmlType::Q5_K, {"Q5_K", 256, 176}, true},
    Entry{GgmlType::Q6_K, {"Q6_K", 256, 210}, true},
    Entry{GgmlType::Q8_K, {"Q8_K", 256, 292}, true},
    Entry{GgmlType::IQ2_XXS, {"IQ2_XXS", 256, 66}, false},
    Entry{GgmlType::IQ2_XS, {"IQ2_XS", 256, 74}, false},
    Entry{GgmlType::IQ3_XXS, {"IQ3_XXS", 256, 98}, false},
    Entry{GgmlType::IQ1_S, {"IQ1_S", 256, 50}, false},
    Entry{GgmlType::IQ4_NL, {"IQ4_NL", 32, 18}, false},
    Entry{GgmlType::IQ3_S, {"IQ3_S", 256, 110}, false},
    Entry{GgmlType::IQ2_S, {"IQ2_S", 256, 82}, false},
    Entry{GgmlType::IQ4_XS, {"IQ4_XS", 256, 136}, false},
    Entry{GgmlType::I8, {"I8", 1, 1}, false},
    Entry{GgmlType::I16, {"I16", 1, 2}, false},
    Entry{GgmlType::I32, {"I32", 1, 4}, false},
    Entry{GgmlType::I64, {"I64", 1, 8}, false},
    Entry{GgmlType::F64, {"F64", 1, 8}, false},
    Entry{GgmlType::IQ1_M, {"IQ1_M", 256, 56}, false},
    Entry{GgmlType::BF16, {"BF16", 1, 2}, true},
    Entry{GgmlType::TQ1_0, {"TQ1_0", 256, 54}, false},
    Entry{GgmlType::TQ2_0, {"TQ2_0", 256, 66}, false},
    Entry{GgmlType::MXFP4, {"MXFP4", 32, 17}, false},
};

const Entry* find_entry(uint32_t id) {
  auto it = std::find_if(kEntries.begin(), kEntries.end(),
                         [id](const Entry& e) { return static_cast<uint32_t>(e.type) == id; });
  return it == kEntries.end() ? nullptr : &*it;
}

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type_id) {
  const Entry* e = find_entry(type_id);
  if (!e) return std::nullopt;
  return e->traits;
}

const GgmlTypeTraits& ggml_type_traits(GgmlType type) {
  const Entry* e = find_entry(static_cast<uint32_t>(type));
  TANDEM_CHECK(e != nullptr);
  return e->traits;
}

std::string_view ggml_type_name(GgmlType type) { return ggml_type_traits(type).name; }

std::optional<GgmlType> ggml_type_from_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const Entry& e : kEntries) {
    if (e.traits.name == upper) return e.type;
  }
  return std::nullopt;
}

size_t ggml_row_size(GgmlType type, int64_t n) {
  const GgmlTypeTraits& t = ggml_type_traits(type);
  TANDEM_CHECK(n >= 0 && n % t.block_size == 0);
  return static_cast<size_t>(n / t.block_size) * t.type_size;
}

bool ggml_type_is_supported(GgmlType type) {
  const Entry* e = find_entry(static_cast<uint32_t>(type));
  return e != nullptr && e->supported;
}

}  // namespace tandem
