#include "model/model.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/packed_weights.h"
#include "model/arch/architectures.h"
#include "model/tensor_binder.h"

namespace tandem {
namespace {

// File bytes packed between two releases of their pages (see pack_weights).
constexpr size_t kPackChunkBytes = size_t{8} << 20;

}  // namespace

std::vector<WeightMatrix*> LayerWeights::matrices() {
  std::vector<WeightMatrix*> out;
  for (WeightMatrix* m : {&attn.wq, &attn.wk, &attn.wv, &attn.wo, &ffn.w_gate, &ffn.w_up, &ffn.w_down, &moe.gate_inp,
                          &moe.shexp.w_gate, &moe.shexp.w_up, &moe.shexp.w_down, &moe.gate_inp_shexp, &deltanet.wqkv,
                          &deltanet.wgate, &deltanet.ssm_in, &deltanet.w_ba, &deltanet.w_out}) {
    if (m->data) out.push_back(m);
  }
  for (std::vector<WeightMatrix>* experts : {&moe.gate_exps, &moe.up_exps, &moe.down_exps}) {
    for (WeightMatrix& m : *experts) out.push_back(&m);
  }
  return out;
}

std::vector<const WeightMatrix*> LayerWeights::matrices() const {
  std::vector<WeightMatrix*> all = const_cast<LayerWeights*>(this)->matrices();
  return {all.begin(), all.end()};
}

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
  TensorBinder b(file_, converted_);
  ModelWeights& w = weights_;
  w.token_embd = b.matrix("token_embd.weight", c.n_embd, c.n_vocab);
  w.output_norm = b.vector("output_norm.weight", c.n_embd);
  w.output = b.matrix("output.weight", c.n_embd, c.n_vocab, /*required=*/false);
  if (!w.output.data) w.output = w.token_embd;  // tied embeddings
  w.rope_freqs = b.vector("rope_freqs.weight", c.rope.n_rot / 2, /*required=*/false);
  w.output_b = b.vector("output.bias", c.n_vocab, /*required=*/false);
  w.output_s = b.vector("output.scale", 1, /*required=*/false);
  config_.rope.freq_factors = w.rope_freqs;

  const ArchitectureSpec& spec = architecture_spec(c.arch);
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int32_t il = 0; il < c.n_layer && b.ok(); ++il) spec.bind_layer(c, b, il, w.layers[static_cast<size_t>(il)]);
  if (!b.ok()) return make_error(b.problem());
  return ok_status();
}

void Model::pack_weights() {
  const cpu::IsaLevel isa = cpu::active_isa_level();
  // Bytes of m's packed copy; 0 when it is not packed.
  auto packed_bytes = [&](const WeightMatrix& m) -> size_t {
    const int64_t n_groups = m.n_out / cpu::packed_group_rows(m.type);
    if (!m.data || n_groups == 0 || !cpu::has_packed_kernel(m.type, isa)) return 0;
    return cpu::packed_group_bytes(m.type, m.n_in) * static_cast<size_t>(n_groups);
  };
  auto pack_into = [&](WeightMatrix& m, uint8_t* out) {
    const int64_t group_rows = cpu::packed_group_rows(m.type);
    const int64_t n_groups = m.n_out / group_rows;
    const size_t group_bytes = cpu::packed_group_bytes(m.type, m.n_in);
    // A few MB at a time, each piece's file pages released before the next is read: packing a
    // whole matrix first held both copies of it at once (the 255 MB output head of a 151936-token
    // vocabulary was the process's peak RSS).
    const size_t group_file_bytes = m.row_bytes * static_cast<size_t>(group_rows);
    const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(kPackChunkBytes / group_file_bytes));
    for (int64_t g0 = 0; g0 < n_groups; g0 += chunk) {
      const int64_t count = std::min(chunk, n_groups - g0);
      const uint8_t* rows = m.data + static_cast<size_t>(g0) * group_file_bytes;
      cpu::pack_rows(m.type, rows, m.row_bytes, m.n_in, count, out + static_cast<size_t>(g0) * group_bytes);
      file_.release_pages(rows, group_file_bytes * static_cast<size_t>(count));
    }
    m.packed = out;
  };
  // One arena per layer, 2 MiB-aligned and asked for 2 MiB pages before anything touches it: a
  // batch-1 step streams each weight once, and on 4 KiB pages every 4 KiB is a TLB miss (a
  // two-level walk in a VM). Matrices allocated one by one left the experts (under 2 MiB each)
  // and the ends of every matrix on 4 KiB pages.
  auto pack_all = [&](const std::vector<WeightMatrix*>& matrices) {
    constexpr size_t kAlign = 64;
    constexpr size_t kHugePage = size_t{2} << 20;
    auto round_up = [](size_t n, size_t to) { return (n + to - 1) / to * to; };
    size_t total = 0;
    for (const WeightMatrix* m : matrices) total += round_up(packed_bytes(*m), kAlign);
    if (total == 0) return;
    packed_.emplace_back(new uint8_t[total + kHugePage]);
    const uintptr_t raw = reinterpret_cast<uintptr_t>(packed_.back().get());
    uint8_t* base = packed_.back().get() + (round_up(raw, kHugePage) - raw);
    // Only whole 2 MiB pages inside the packed bytes: a huge page over the arena's tail would be
    // memory no weight uses (up to 2 MiB a layer).
    cpu::advise_huge_pages(base, total);
    size_t offset = 0;
    for (WeightMatrix* m : matrices) {
      const size_t bytes = packed_bytes(*m);
      if (bytes == 0) continue;
      pack_into(*m, base + offset);
      offset += round_up(bytes, kAlign);
    }
  };
  for (LayerWeights& l : weights_.layers) pack_all(l.matrices());
  // Tied embeddings: the output matrix is packed; look-ups keep reading the file's rows.
  pack_all({&weights_.output});
}

size_t Model::weight_bytes() const {
  auto bytes = [](const WeightMatrix& m) { return m.row_bytes * static_cast<size_t>(m.n_out); };
  size_t total = bytes(weights_.output);
  const ModelConfig& c = config_;
  for (const LayerWeights& l : weights_.layers) {
    for (const WeightMatrix* m : l.matrices()) total += bytes(*m);
    // A token reads n_expert_used of the n_expert experts.
    if (c.n_expert > 0 && !l.moe.gate_exps.empty()) {
      const size_t expert = bytes(l.moe.gate_exps[0]) + bytes(l.moe.up_exps[0]) + bytes(l.moe.down_exps[0]);
      total -= expert * static_cast<size_t>(c.n_expert - c.n_expert_used);
    }
  }
  return total;
}

}  // namespace tandem
