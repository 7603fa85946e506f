#include "model/model.h"

#include "kernels/cpu/packed_weights.h"
#include "quant/dequantize.h"

namespace tandem {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::string& path) {
  auto file = gguf::GgufFile::open(path);
  if (!file) return Error{file.error()};
  std::unique_ptr<Model> model(new Model());
  model->file_ = std::move(file).value();
  auto config = read_model_config(model->file_);
  if (!config) return make_error(path + ": " + config.error());
  model->config_ = std::move(config).value();
  if (auto bound = model->bind_weights(); !bound) return make_error(path + ": " + bound.error());
  model->pack_weights();
  return model;
}

Status Model::bind_weights() {
  const ModelConfig& c = config_;
  std::string problem;

  // Finds a tensor and checks its shape; records the first problem found.
  auto find = [&](const std::string& name, std::vector<int64_t> shape, bool required) -> const gguf::TensorInfo* {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (!t) {
      if (required && problem.empty()) problem = "missing tensor " + name;
      return nullptr;
    }
    if (t->shape != shape && problem.empty()) {
      problem = "tensor " + name + " has shape " + t->shape_string() + ", expected " + shape_text(shape);
      return nullptr;
    }
    if (!ggml_type_is_supported(t->type) && problem.empty()) {
      problem = "tensor " + name + " has type " + std::string(ggml_type_name(t->type)) +
                ", which this engine cannot compute with yet";
      return nullptr;
    }
    return t;
  };
  auto matrix = [&](const std::string& name, int64_t n_in, int64_t n_out, bool required = true) {
    WeightMatrix m;
    if (const gguf::TensorInfo* t = find(name, {n_in, n_out}, required)) {
      m.type = t->type;
      m.data = t->data;
      m.n_in = n_in;
      m.n_out = n_out;
      m.row_bytes = ggml_row_size(t->type, n_in);
    }
    return m;
  };
  auto vector = [&](const std::string& name, int64_t n, bool required = true) -> const float* {
    const gguf::TensorInfo* t = find(name, {n}, required);
    if (!t) return nullptr;
    if (t->type == GgmlType::F32) return reinterpret_cast<const float*>(t->data);
    converted_.emplace_back(static_cast<size_t>(n));
    dequantize_row(t->type, t->data, converted_.back().data(), n);
    return converted_.back().data();
  };

  ModelWeights& w = weights_;
  w.token_embd = matrix("token_embd.weight", c.n_embd, c.n_vocab);
  w.output_norm = vector("output_norm.weight", c.n_embd);
  w.output = matrix("output.weight", c.n_embd, c.n_vocab, /*required=*/false);
  if (!w.output.data) w.output = w.token_embd;  // tied embeddings
  w.rope_freqs = vector("rope_freqs.weight", c.rope.n_rot / 2, /*required=*/false);
  config_.rope.freq_factors = w.rope_freqs;

  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int32_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    l.attn_norm = vector(p + "attn_norm.weight", c.n_embd);
    l.wq = matrix(p + "attn_q.weight", c.n_embd, c.q_dim());
    l.wk = matrix(p + "attn_k.weight", c.n_embd, c.kv_dim());
    l.wv = matrix(p + "attn_v.weight", c.n_embd, c.kv_dim());
    l.wo = matrix(p + "attn_output.weight", c.q_dim(), c.n_embd);
    if (c.qkv_bias) {
      l.bq = vector(p + "attn_q.bias", c.q_dim());
      l.bk = vector(p + "attn_k.bias", c.kv_dim());
      l.bv = vector(p + "attn_v.bias", c.kv_dim());
    }
    if (c.qk_norm) {
      l.q_norm = vector(p + "attn_q_norm.weight", c.head_dim);
      l.k_norm = vector(p + "attn_k_norm.weight", c.head_dim);
    }
    if (c.gemma_style) {
      l.post_attn_norm = vector(p + "post_attention_norm.weight", c.n_embd);
      l.post_ffn_norm = vector(p + "post_ffw_norm.weight", c.n_embd);
    }
    l.ffn_norm = vector(p + "ffn_norm.weight", c.n_embd);
    l.w_gate = matrix(p + "ffn_gate.weight", c.n_embd, c.n_ff);
    l.w_up = matrix(p + "ffn_up.weight", c.n_embd, c.n_ff);
    l.w_down = matrix(p + "ffn_down.weight", c.n_ff, c.n_embd);
  }
  if (!problem.empty()) return make_error(problem);
  return ok_status();
}

void Model::pack_weights() {
  const cpu::IsaLevel isa = cpu::active_isa_level();
  auto pack = [&](WeightMatrix& m) {
    const int64_t group_rows = cpu::packed_group_rows(m.type);
    const int64_t n_groups = m.n_out / group_rows;
    if (!m.data || n_groups == 0 || !cpu::has_packed_kernel(m.type, isa)) return;
    const size_t bytes = cpu::packed_group_bytes(m.type, m.n_in) * static_cast<size_t>(n_groups);
    packed_.emplace_back(new uint8_t[bytes]);
    cpu::pack_rows(m.type, m.data, m.row_bytes, m.n_in, n_groups, packed_.back().get());
    m.packed = packed_.back().get();
    file_.release_pages(m.data, m.row_bytes * static_cast<size_t>(n_groups * group_rows));
  };
  for (LayerWeights& l : weights_.layers) {
    for (WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*m);
  }
  // Tied embeddings: the output matrix is packed; look-ups keep reading the file's rows.
  pack(weights_.output);
}

size_t Model::weight_bytes() const {
  size_t total = weights_.output.row_bytes * static_cast<size_t>(weights_.output.n_out);
  for (const LayerWeights& l : weights_.layers) {
    for (const WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) {
      total += m->row_bytes * static_cast<size_t>(m->n_out);
    }
  }
  return total;
}

}  // namespace tandem
