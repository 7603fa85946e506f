#pragma once
// Finds a model's tensors in its GGUF file by name and checks their shape and type, for the
// architectures' bind functions (model/arch/). The first problem found is kept for the loader's
// error message; a missing optional tensor is no problem.

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "kernels/cpu/matmul.h"

namespace tandem {

class TensorBinder {
 public:
  // converted receives the norm vectors stored as F16/BF16 (they are used as F32); it must
  // outlive the views handed out.
  TensorBinder(const gguf::GgufFile& file, std::vector<std::vector<float>>& converted)
      : file_(file), converted_(converted) {}

  // A 2-D weight [n_in, n_out] in ggml order; an empty view when absent.
  cpu::WeightMatrix matrix(const std::string& name, int64_t n_in, int64_t n_out, bool required = true);
  // A 1-D tensor [n_in] used as a one-output matrix [n_in -> 1] (the shared expert's gate).
  cpu::WeightMatrix row_matrix(const std::string& name, int64_t n_in, bool required = true);
  // A 1-D vector of n floats (converted to F32 when stored otherwise); null when absent.
  const float* vector(const std::string& name, int64_t n, bool required = true);
  // The same for a small tensor of any shape (ggml order), such as a convolution kernel.
  const float* floats(const std::string& name, const std::vector<int64_t>& shape, bool required = true);
  // A 3-D stack [n_in, n_out, n_mat] (the experts of an MoE layer): one view per matrix; empty
  // when absent.
  std::vector<cpu::WeightMatrix> matrices(const std::string& name, int64_t n_in, int64_t n_out, int64_t n_mat,
                                          bool required = true);

  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }
  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }

 private:
  const gguf::TensorInfo* find(const std::string& name, const std::vector<int64_t>& shape, bool required);

  const gguf::GgufFile& file_;
  std::vector<std::vector<float>>& converted_;
  std::string problem_;
};

}  // namespace tandem
