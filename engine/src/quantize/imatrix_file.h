#pragma once
// Importance matrices ("imatrix"): per weight matrix, the sum over evaluated tokens of each input
// column's squared activation, and how many tokens were summed. A column whose activations are
// large moves the matrix product most, so its weights deserve the most precise quantization.
//
// Files use llama.cpp's GGUF imatrix layout, so llama-quantize reads Tandem's files and Tandem
// reads llama-imatrix's: general.type = "imatrix", imatrix.datasets (strings),
// imatrix.chunk_count and imatrix.chunk_size (u32), and per matrix NAME two F32 tensors,
// NAME.in_sum2 [n_in, n_mat] and NAME.counts [1, n_mat] (n_mat > 1 only for expert stacks).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace tandem::quantize {

struct ImatrixEntry {
  std::vector<float> in_sum2;  // [n_mat * n_in]: sums of squared input activations
  std::vector<float> counts;   // [n_mat]: tokens summed into each matrix's row of in_sum2
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by weight tensor name ("blk.0.attn_q.weight")
  std::vector<std::string> datasets;            // the texts it was computed on
  uint32_t chunk_count = 0;
  uint32_t chunk_size = 0;

  // Mean squared activation per column (in_sum2 / counts) for one matrix, or empty when the
  // matrix has no entry. Columns never seen (count 0) get 1, a neutral weight.
  std::vector<float> importance(const std::string& tensor_name) const;
};

Status write_imatrix(const Imatrix& imatrix, const std::string& path);
Result<Imatrix> read_imatrix(const std::string& path);

}  // namespace tandem::quantize
