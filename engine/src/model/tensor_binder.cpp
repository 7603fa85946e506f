#include "model/tensor_binder.h"

#include "quant/dequantize.h"

namespace tandem {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

const gguf::TensorInfo* TensorBinder::find(const std::string& name, const std::vector<int64_t>& shape,
                                           bool required) {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (!t) {
    if (required && problem_.empty()) problem_ = "missing tensor " + name;
    return nullptr;
  }
  if (t->shape != shape) {
    if (problem_.empty()) {
      problem_ = "tensor " + name + " has shape " + t->shape_string() + ", expected " + shape_text(shape);
    }
    return nullptr;
  }
  if (!ggml_type_is_supported(t->type)) {
    if (problem_.empty()) {
      problem_ = "tensor " + name + " has type " + std::string(ggml_type_name(t->type)) +
                 ", which this engine cannot compute with yet";
    }
    return nullptr;
  }
  return t;
}

cpu::WeightMatrix TensorBinder::matrix(const std::string& name, int64_t n_in, int64_t n_out, bool required) {
  cpu::WeightMatrix m;
  if (const gguf::TensorInfo* t = find(name, {n_in, n_out}, required)) {
    m.type = t->type;
    m.data = t->data;
    m.n_in = n_in;
    m.n_out = n_out;
    m.row_bytes = ggml_row_size(t->type, n_in);
  }
  return m;
}

cpu::WeightMatrix TensorBinder::row_matrix(const std::string& name, int64_t n_in, bool required) {
  cpu::WeightMatrix m;
  if (const gguf::TensorInfo* t = find(name, {n_in}, required)) {
    m.type = t->type;
    m.data = t->data;
    m.n_in = n_in;
    m.n_out = 1;
    m.row_bytes = ggml_row_size(t->type, n_in);
  }
  return m;
}

const float* TensorBinder::vector(const std::string& name, int64_t n, bool required) {
  return floats(name, {n}, required);
}

const float* TensorBinder::floats(const std::string& name, const std::vector<int64_t>& shape, bool required) {
  const gguf::TensorInfo* t = find(name, shape, required);
  if (!t) return nullptr;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (t->type == GgmlType::F32) return reinterpret_cast<const float*>(t->data);
  converted_.emplace_back(static_cast<size_t>(n));
  dequantize_row(t->type, t->data, converted_.back().data(), n);
  return converted_.back().data();
}

std::vector<cpu::WeightMatrix> TensorBinder::matrices(const std::string& name, int64_t n_in, int64_t n_out,
                                                      int64_t n_mat, bool required) {
  std::vector<cpu::WeightMatrix> out;
  const gguf::TensorInfo* t = find(name, {n_in, n_out, n_mat}, required);
  if (!t) return out;
  const size_t row_bytes = ggml_row_size(t->type, n_in);
  out.resize(static_cast<size_t>(n_mat));
  for (int64_t e = 0; e < n_mat; ++e) {
    cpu::WeightMatrix& m = out[static_cast<size_t>(e)];
    m.type = t->type;
    m.data = t->data + static_cast<size_t>(e) * row_bytes * static_cast<size_t>(n_out);
    m.n_in = n_in;
    m.n_out = n_out;
    m.row_bytes = row_bytes;
  }
  return out;
}

}  // namespace tandem
