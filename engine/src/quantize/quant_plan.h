#pragma once
// The quantization planner: which type each tensor of a model gets for a requested file type.
//
// The rules are llama.cpp's (llama-quant.cpp), so that a file quantized here and one made by
// llama-quantize from the same input hold the same types tensor for tensor:
// - only matrices named "*weight" are quantized; norms, biases and 1-D tensors keep their type;
// - the output projection (or the token embedding when the two are tied) gets Q6_K for every
//   quantized target except Q8_0, because the last projection moves every logit;
// - the _M mixes give Q6_K to attn_v and ffn_down in the layers that matter most (the first and
//   last eighth and every third layer between, llama.cpp's use_more_bits), Q5_K/Q6_K to a fused
//   attn_qkv;
// - a tensor whose row length is not a multiple of the chosen type's block falls back to a type
//   that fits (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0; a 32-block type, or a
//   fallback that still does not fit, -> F16), and the plan says so.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "gguf/gguf_reader.h"
#include "quant/ggml_type.h"

namespace tandem::quantize {

// A requested file type: "q4_k_m" is Q4_K with the _M mix, "q8_0" is plain Q8_0.
struct QuantTarget {
  std::string name;       // as the user wrote it, lower case: "q4_k_m"
  GgmlType base;          // type of most matrices
  bool mix_m = false;     // the _M mix (more bits for attn_v and ffn_down)
  uint32_t file_type = 0;  // llama.cpp's llama_ftype, stored as general.file_type
};

// The names `--type` accepts, in the order help text lists them.
const std::vector<std::string_view>& quant_target_names();
// Parses a --type value (case-insensitive). The error lists the accepted names.
Result<QuantTarget> parse_quant_target(std::string_view name);

struct TensorPlan {
  std::string name;
  GgmlType from;              // the input's type
  GgmlType to;                // the output's type (== from: copied byte for byte)
  std::vector<int64_t> shape;  // ggml order
  std::string note;           // why `to` is not the target's base type (fallback), or empty
  bool fallback = false;      // the row length did not fit the preferred type's block
};

struct QuantPlan {
  QuantTarget target;
  std::vector<TensorPlan> tensors;  // in the input file's order
  int32_t n_fallback = 0;
  std::vector<std::string> warnings;  // input already quantized, types that grow, ...
};

// Plans every tensor of `file`. Fails when a tensor must be converted but its type cannot be
// read (a type this build does not know), naming the tensor.
Result<QuantPlan> plan_quantization(const gguf::GgufFile& file, const QuantTarget& target);

// Whether llama.cpp (and so this planner) quantizes a tensor of this name and shape at all.
bool tensor_is_quantizable(std::string_view name, const std::vector<int64_t>& shape);

}  // namespace tandem::quantize
