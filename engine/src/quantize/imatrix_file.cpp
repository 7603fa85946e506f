#include "quantize/imatrix_file.h"

#include <cmath>
#include <cstring>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace tandem::quantize {
namespace {

constexpr const char* kSumSuffix = ".in_sum2";
constexpr const char* kCountSuffix = ".counts";

bool strip_suffix(std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  s.resize(s.size() - suffix.size());
  return true;
}

std::vector<float> read_f32(const gguf::TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(t.n_elements()));
  if (!v.empty()) std::memcpy(v.data(), t.data, v.size() * sizeof(float));
  return v;
}

}  // namespace

std::vector<float> Imatrix::importance(const std::string& tensor_name) const {
  auto it = entries.find(tensor_name);
  if (it == entries.end() || it->second.counts.empty()) return {};
  const ImatrixEntry& e = it->second;
  const size_t n_mat = e.counts.size();
  const size_t n_in = e.in_sum2.size() / n_mat;
  std::vector<float> out(e.in_sum2.size());
  for (size_t m = 0; m < n_mat; ++m) {
    for (size_t i = 0; i < n_in; ++i) {
      out[m * n_in + i] = e.counts[m] > 0.0f ? e.in_sum2[m * n_in + i] / e.counts[m] : 1.0f;
    }
  }
  return out;
}

Status write_imatrix(const Imatrix& imatrix, const std::string& path) {
  using gguf::Value;
  using gguf::ValueType;
  gguf::GgufWriter w;
  w.set("general.type", Value::make_string("imatrix"));
  std::vector<Value> datasets;
  for (const std::string& d : imatrix.datasets) datasets.push_back(Value::make_string(d));
  w.set("imatrix.datasets", Value::make_array(ValueType::STRING, std::move(datasets)));
  w.set("imatrix.chunk_count", Value::make_uint(ValueType::UINT32, imatrix.chunk_count));
  w.set("imatrix.chunk_size", Value::make_uint(ValueType::UINT32, imatrix.chunk_size));
  for (const auto& [name, e] : imatrix.entries) {
    const int64_t n_mat = static_cast<int64_t>(e.counts.size());
    if (n_mat == 0 || e.in_sum2.size() % e.counts.size() != 0) {
      return make_error("imatrix entry " + name + " has " + std::to_string(e.in_sum2.size()) + " sums for " +
                        std::to_string(n_mat) + " counts");
    }
    const int64_t n_in = static_cast<int64_t>(e.in_sum2.size()) / n_mat;
    w.add_tensor(name + kSumSuffix, GgmlType::F32, {n_in, n_mat}, e.in_sum2.data(), e.in_sum2.size() * sizeof(float));
    w.add_tensor(name + kCountSuffix, GgmlType::F32, {1, n_mat}, e.counts.data(), e.counts.size() * sizeof(float));
  }
  return w.write(path);
}

Result<Imatrix> read_imatrix(const std::string& path) {
  auto file = gguf::GgufFile::open(path);
  if (!file) {
    return make_error(file.error() + " (an imatrix must be a GGUF file as written by `tandem eval imatrix` or "
                                     "llama-imatrix; the legacy .dat layout is not read)");
  }
  Imatrix out;
  if (auto type = file->get_string("general.type"); !type || *type != "imatrix") {
    return make_error(path + ": not an imatrix file (general.type is not \"imatrix\")");
  }
  if (const gguf::Array* a = file->get_array("imatrix.datasets")) {
    for (const gguf::Value& v : a->items) {
      if (const std::string* s = v.as_string()) out.datasets.push_back(*s);
    }
  }
  out.chunk_count = static_cast<uint32_t>(file->get_int("imatrix.chunk_count").value_or(0));
  out.chunk_size = static_cast<uint32_t>(file->get_int("imatrix.chunk_size").value_or(0));
  std::map<std::string, const gguf::TensorInfo*> sums;
  std::map<std::string, const gguf::TensorInfo*> counts;
  for (const gguf::TensorInfo& t : file->tensors()) {
    std::string name = t.name;
    if (strip_suffix(name, kSumSuffix)) {
      sums[name] = &t;
    } else if (strip_suffix(name, kCountSuffix)) {
      counts[name] = &t;
    }
  }
  for (const auto& [name, sum] : sums) {
    auto it = counts.find(name);
    if (it == counts.end()) return make_error(path + ": " + name + " has sums but no counts");
    const gguf::TensorInfo* count = it->second;
    if (sum->type != GgmlType::F32 || count->type != GgmlType::F32) {
      return make_error(path + ": " + name + ": sums and counts must be F32");
    }
    const int64_t n_mat = count->n_elements();
    if (n_mat <= 0 || sum->n_elements() % n_mat != 0) {
      return make_error(path + ": " + name + ": " + std::to_string(sum->n_elements()) + " sums do not split into " +
                        std::to_string(n_mat) + " matrices");
    }
    ImatrixEntry e{read_f32(*sum), read_f32(*count)};
    for (float v : e.in_sum2) {
      if (!std::isfinite(v) || v < 0.0f) return make_error(path + ": " + name + " holds a negative or non-finite sum");
    }
    out.entries.emplace(name, std::move(e));
  }
  for (const auto& [name, count] : counts) {
    if (!sums.count(name)) return make_error(path + ": " + name + " has counts but no sums");
  }
  return out;
}

}  // namespace tandem::quantize
