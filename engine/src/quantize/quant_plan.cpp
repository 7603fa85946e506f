#include "quantize/quant_plan.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace tandem::quantize {
namespace {

// llama_ftype values (llama.h); stored in general.file_type, so never renumber.
constexpr uint32_t kFtypeAllF32 = 0;
constexpr uint32_t kFtypeF16 = 1;
constexpr uint32_t kFtypeQ4_0 = 2;
constexpr uint32_t kFtypeQ4_1 = 3;
constexpr uint32_t kFtypeQ8_0 = 7;
constexpr uint32_t kFtypeQ5_0 = 8;
constexpr uint32_t kFtypeQ5_1 = 9;
constexpr uint32_t kFtypeQ4_K_S = 14;
constexpr uint32_t kFtypeQ4_K_M = 15;
constexpr uint32_t kFtypeQ5_K_S = 16;
constexpr uint32_t kFtypeQ5_K_M = 17;
constexpr uint32_t kFtypeQ6_K = 18;
constexpr uint32_t kFtypeBF16 = 32;

struct TargetEntry {
  std::string_view name;
  GgmlType base;
  bool mix_m;
  uint32_t file_type;
};

// A plain K type ("q4_k") has no llama_ftype of its own; the nearest is the _S file type, whose
// matrices are mostly that type too.
constexpr TargetEntry kTargets[] = {
    {"f32", GgmlType::F32, false, kFtypeAllF32},     {"f16", GgmlType::F16, false, kFtypeF16},
    {"bf16", GgmlType::BF16, false, kFtypeBF16},     {"q8_0", GgmlType::Q8_0, false, kFtypeQ8_0},
    {"q4_0", GgmlType::Q4_0, false, kFtypeQ4_0},     {"q4_1", GgmlType::Q4_1, false, kFtypeQ4_1},
    {"q5_0", GgmlType::Q5_0, false, kFtypeQ5_0},     {"q5_1", GgmlType::Q5_1, false, kFtypeQ5_1},
    {"q4_k", GgmlType::Q4_K, false, kFtypeQ4_K_S},   {"q5_k", GgmlType::Q5_K, false, kFtypeQ5_K_S},
    {"q6_k", GgmlType::Q6_K, false, kFtypeQ6_K},     {"q4_k_m", GgmlType::Q4_K, true, kFtypeQ4_K_M},
    {"q5_k_m", GgmlType::Q5_K, true, kFtypeQ5_K_M},
};

bool is_quantized(GgmlType t) { return t != GgmlType::F32 && t != GgmlType::F16 && t != GgmlType::BF16; }

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// The layer of "blk.N.…", or -1.
int layer_of(std::string_view name) {
  int layer = -1;
  if (std::sscanf(std::string(name).c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between.
bool use_more_bits(int i_layer, int n_layer) {
  return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

std::string type_name(GgmlType t) { return std::string(ggml_type_name(t)); }

// Fallback for a row length that does not fit `type`'s block.
GgmlType fallback_for(GgmlType type) {
  switch (type) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K: return GgmlType::Q4_0;
    case GgmlType::Q4_K: return GgmlType::Q5_0;
    case GgmlType::Q5_K: return GgmlType::Q5_1;
    case GgmlType::Q6_K: return GgmlType::Q8_0;
    default: return type;  // a 32-block type has no smaller block to go to
  }
}

int64_t block_of(GgmlType t) { return ggml_type_traits(t).block_size; }

}  // namespace

const std::vector<std::string_view>& quant_target_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const TargetEntry& e : kTargets) v.push_back(e.name);
    return v;
  }();
  return names;
}

Result<QuantTarget> parse_quant_target(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const TargetEntry& e : kTargets) {
    if (e.name == lower) return QuantTarget{lower, e.base, e.mix_m, e.file_type};
  }
  std::string list;
  for (std::string_view n : quant_target_names()) list += (list.empty() ? "" : ", ") + std::string(n);
  return make_error("unknown quantization type '" + std::string(name) + "'; choose one of: " + list);
}

bool tensor_is_quantizable(std::string_view name, const std::vector<int64_t>& shape) {
  // ggml_n_dims: trailing dimensions of 1 do not count.
  size_t n_dims = shape.size();
  while (n_dims > 1 && shape[n_dims - 1] == 1) --n_dims;
  if (n_dims < 2) return false;
  if (!ends_with(name, "weight")) return false;
  if (contains(name, "_norm.weight")) return false;
  // MoE routers, positional and token-type embeddings are small and sensitive: kept as they are.
  if (contains(name, "ffn_gate_inp.weight")) return false;
  if (name == "position_embd.weight" || name == "token_types.weight") return false;
  if (contains(name, "ssm_conv1d") || contains(name, "attn_rel_b.weight")) return false;
  return true;
}

Result<QuantPlan> plan_quantization(const gguf::GgufFile& file, const QuantTarget& target) {
  QuantPlan plan;
  plan.target = target;
  const auto& infos = file.tensors();
  const bool tied_embeddings = file.find_tensor("output.weight") == nullptr;
  int n_attn_v = 0;
  int n_layer = 0;
  for (const gguf::TensorInfo& t : infos) {
    if (contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight")) ++n_attn_v;
    n_layer = std::max(n_layer, layer_of(t.name) + 1);
  }
  int n_quantized_inputs = 0;

  for (const gguf::TensorInfo& t : infos) {
    TensorPlan tp{t.name, t.type, t.type, t.shape, "", false};
    if (!tensor_is_quantizable(t.name, t.shape)) {
      plan.tensors.push_back(std::move(tp));
      continue;
    }
    GgmlType to = target.base;
    if (is_quantized(target.base)) {
      const bool is_output = t.name == "output.weight" || (tied_embeddings && t.name == "token_embd.weight");
      const int layer = layer_of(t.name);
      if (is_output) {
        // The last projection moves every logit: more bits, as llama.cpp gives it.
        if (t.shape[0] % block_of(to) != 0) {
          to = GgmlType::Q8_0;
        } else if (to != GgmlType::Q8_0) {
          to = GgmlType::Q6_K;
        }
      } else if (target.mix_m) {
        if ((contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight")) && layer >= 0 &&
            use_more_bits(layer, n_attn_v)) {
          to = GgmlType::Q6_K;
        }
        if (contains(t.name, "attn_qkv.weight")) to = target.base == GgmlType::Q4_K ? GgmlType::Q5_K : GgmlType::Q6_K;
        if (contains(t.name, "ffn_down") && layer >= 0 && use_more_bits(layer, n_layer)) to = GgmlType::Q6_K;
      }
      if (to != target.base) tp.note = "more bits (" + type_name(to) + ") for a sensitive tensor";
      const int64_t n_cols = t.shape[0];
      if (n_cols % block_of(to) != 0) {
        const GgmlType preferred = to;
        to = fallback_for(preferred);
        if (n_cols % block_of(to) != 0) to = GgmlType::F16;
        tp.fallback = true;
        ++plan.n_fallback;
        tp.note = std::to_string(n_cols) + " columns are not a multiple of " + type_name(preferred) + "'s block of " +
                  std::to_string(block_of(preferred)) + "; using " + type_name(to) + " instead";
      }
    }
    tp.to = to;
    if (tp.to != tp.from) {
      if (!dequantize_row_supported(tp.from)) {
        return make_error("tensor " + t.name + " is stored as " + type_name(tp.from) +
                          ", which Tandem cannot read back to convert it to " + type_name(tp.to));
      }
      if (!quantize_row_supported(tp.to)) {
        return make_error("tensor " + t.name + ": Tandem cannot write type " + type_name(tp.to));
      }
      if (is_quantized(tp.from)) ++n_quantized_inputs;
    }
    plan.tensors.push_back(std::move(tp));
  }
  if (n_quantized_inputs > 0) {
    plan.warnings.push_back("the input is already quantized (" + std::to_string(n_quantized_inputs) +
                            " tensors): they are dequantized first, so the result cannot be better than the "
                            "input; quantize from the F16/F32 original when you have it");
  }
  return plan;
}

}  // namespace tandem::quantize
